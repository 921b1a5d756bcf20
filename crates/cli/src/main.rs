//! The `telltale` command: a thin layer over the `telltale` library.
//!
//! It parses arguments, builds an [`telltale::Analyzer`], picks a writer and
//! maps the outcome to an exit code: 0 when every input was read (warnings
//! allowed), 1 when some input could not be read at all, 2 on usage errors.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use telltale::detect::DeviceProfile;
use telltale::flow::FlowConfig;
use telltale::geo::{GeoDb, Location};
use telltale::proto::body::BodyLimits;
use telltale::proto::keylog::KeyLog;
use telltale::report::Redactor;
use telltale::report::{write_destination_rows_csv, write_destination_rows_table};
use telltale::{Analyzer, AnalyzerBuilder, DnsScope, Report, SortedFormat};

mod report;

#[derive(Parser)]
#[command(
    name = "telltale",
    version,
    about = "Offline forensic analysis of packet captures: which flows carried device identifiers, and where they went."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Analyse captures (pcap, pcapng, gzip-compressed or not) and list where
    /// every flow went.
    Analyze(AnalyzeArgs),
    /// Write a report a person can read and publish from: index.html (one
    /// self-contained file), report.md, report.json, CSVs and the EVE JSON
    /// Lines, into one folder.
    Report(ReportArgs),
    /// Say what is known about addresses: their scope (private, CGNAT,
    /// documentation, ...) and, for public ones, country, AS number and
    /// organisation from the GeoIP databases.
    Geo(GeoArgs),
}

#[derive(clap::Args)]
struct GeoArgs {
    /// IPv4 or IPv6 addresses.
    #[arg(required = true)]
    addresses: Vec<String>,
    /// Print JSON Lines instead of a table.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    geo: GeoOptions,
}

/// Where locations come from.
#[derive(clap::Args)]
struct GeoOptions {
    /// A MaxMind-format database (GeoLite2/GeoIP2 City, Country or ASN,
    /// DB-IP lite, IPinfo lite, ip-location-db); repeatable, first wins.
    /// The embedded default still answers what these files cannot (AS
    /// numbers next to a City file, say).
    #[arg(long = "geoip", value_name = "FILE")]
    geoip: Vec<PathBuf>,
    /// No GeoIP at all: endpoints keep only their scope.
    #[arg(long, conflicts_with = "geoip")]
    no_geo: bool,
}

impl GeoOptions {
    fn db(&self) -> anyhow::Result<Option<GeoDb>> {
        if self.no_geo {
            return Ok(None);
        }
        Ok(Some(GeoDb::standard(&self.geoip)?))
    }
}

#[derive(clap::Args)]
struct AnalyzeArgs {
    /// Capture files, or folders searched recursively for captures; `-` reads
    /// standard input.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Write the output to this file instead of standard output.
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Mask identifier values everywhere in the output with keyed pseudonyms
    /// (`imei~3f9a0c41d2e7`): the same value keeps the same pseudonym within
    /// a run, or across runs with the same --redact-key.
    #[arg(long)]
    redact: bool,
    /// The key for --redact pseudonyms (any text; keep it secret). Without
    /// it a random key is used and pseudonyms differ between runs.
    #[arg(long, value_name = "SECRET", requires = "redact")]
    redact_key: Option<String>,
    /// Write JSON Lines while each capture is read, unsorted: each event as
    /// it is read, a flow's record when it ends; memory follows the flows
    /// open at once (-f jsonl alone also keeps memory flat on large captures,
    /// sorting on disk). Lines are those of -f jsonl in another order;
    /// captures are read one after another, one thread each.
    #[arg(long, conflicts_with = "redact")]
    stream: bool,
    /// Memory for sorting -f jsonl, csv and identifiers-csv output (as
    /// sort -S: 64M, 512K, 1G):
    /// beyond it, lines are sorted in temporary files (in TMPDIR) and
    /// merged, so memory does not grow with the capture.
    #[arg(long, value_name = "SIZE", default_value = "32M", value_parser = parse_size)]
    sort_memory: u64,
    /// Captures up to this size in all are held in memory and written from
    /// there (faster; about 30 MiB per GiB of phone traffic), unless what
    /// they hold passes an estimated 128 MiB (DNS traffic holds six times
    /// its size): then, as larger ones, they are streamed: the destination
    /// table and CSV added up as flows end, the other formats sorted in
    /// --sort-memory. 0 streams every capture.
    #[arg(long, value_name = "SIZE", default_value = "2G", value_parser = parse_size)]
    collect_limit: u64,
    #[command(flatten)]
    analysis: AnalysisArgs,
    /// Do not print warnings about damaged captures.
    #[arg(short, long)]
    quiet: bool,
}

#[derive(clap::Args)]
struct ReportArgs {
    /// Capture files, or folders searched recursively for captures.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// The folder to write the report into (created if missing). Files
    /// already there with the report's names are replaced.
    #[arg(short, long, value_name = "DIR")]
    output: PathBuf,
    /// Show identifier values as captured. By default they are masked with
    /// keyed pseudonyms (`imei~3f9a0c41d2e7`): kind, encoding and location
    /// stay visible, the value does not.
    #[arg(long)]
    show_values: bool,
    /// The key for the pseudonyms (any text; keep it secret): the same
    /// value then gets the same pseudonym in every report made with it.
    #[arg(long, value_name = "SECRET", conflicts_with = "show_values")]
    redact_key: Option<String>,
    /// How sections are formed: one per capture file, or one per folder of
    /// captures (one app, device or day per folder).
    #[arg(long, value_enum, default_value_t = GroupByArg::File)]
    group_by: GroupByArg,
    #[command(flatten)]
    analysis: AnalysisArgs,
    /// No progress bar and no warnings on standard error.
    #[arg(short, long)]
    quiet: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum GroupByArg {
    File,
    Folder,
}

/// What analyses the captures, for `analyze` and `report` alike.
#[derive(clap::Args)]
struct AnalysisArgs {
    /// Worker threads (0: one per CPU). The output is the same for any value.
    #[arg(short = 'j', long = "threads", default_value_t = 0)]
    threads: usize,
    /// A device profile (TOML: `[[device]]` tables with the device's IMEI,
    /// IMSI, phone numbers, MACs, ...) whose values are searched for in
    /// every encoding apps use. See docs/device-profile.example.toml.
    #[arg(long = "device", value_name = "PROFILE")]
    device: Option<PathBuf>,
    /// Do not look for device identifiers at all.
    #[arg(long, conflicts_with = "device")]
    no_identifiers: bool,
    /// An NSS key log (SSLKEYLOGFILE format) to decrypt TLS with; repeatable.
    /// Secrets inside pcapng captures are used without it.
    #[arg(long = "keylog", value_name = "FILE")]
    keylogs: Vec<PathBuf>,
    /// Which DNS answers may name a capture's flows: its own (`file`), or
    /// those of every capture given (`batch`: one device in several files).
    #[arg(long, value_enum, default_value_t = Scope::File)]
    dns_scope: Scope,
    #[command(flatten)]
    geo: GeoOptions,
    /// Flows held at once; past it the least recently active are ended
    /// early (counted in the notices). Default 250000.
    #[arg(long, value_name = "N")]
    max_flows: Option<usize>,
    /// Out-of-order bytes buffered per TCP direction before a hole is
    /// given up (a gap, counted in flow.limits). Sizes take K, M, G
    /// (binary). Default 1M.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    max_flow_buffer: Option<u64>,
    /// Bytes one HTTP body may decode to (gzip, deflate, brotli); beyond it
    /// the body is cut, counted in http.body_limit_hit. Default 4M.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    max_decompressed: Option<u64>,
}

/// A byte size: digits with an optional binary suffix (`64K`, `1M`, `2G`).
fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let (digits, unit) = match t.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => t.split_at(i),
        None => (t, ""),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a size (e.g. 1048576, 64K, 1M, 2G)"))?;
    let shift = match unit
        .trim_end_matches(['B', 'b', 'i'])
        .to_ascii_uppercase()
        .as_str()
    {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        _ => return Err(format!("{text:?}: unknown unit (use K, M or G)")),
    };
    n.checked_mul(1 << shift)
        .ok_or_else(|| format!("{text:?} is too large"))
}

impl AnalysisArgs {
    /// The analyzer these options describe, and the options as people
    /// should read them in a report.
    fn builder(&self) -> anyhow::Result<(AnalyzerBuilder, Vec<(String, String)>)> {
        let mut described = Vec::new();
        let mut keys = KeyLog::new();
        for path in &self.keylogs {
            let text = std::fs::read(path)
                .with_context(|| format!("cannot read key log {}", path.display()))?;
            keys.add(&text);
            described.push(("key log".into(), path.display().to_string()));
        }
        let profile = match &self.device {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read device profile {}", path.display()))?;
                described.push(("device profile".into(), path.display().to_string()));
                Some(
                    DeviceProfile::from_toml(&text)
                        .with_context(|| format!("device profile {}", path.display()))?,
                )
            }
            None => None,
        };
        let mut builder = Analyzer::builder().identifiers(profile.as_ref());
        if self.no_identifiers {
            builder = builder.no_identifiers();
            described.push(("identifiers".into(), "not searched".into()));
        }
        builder = match self.geo.db()? {
            Some(db) => {
                for f in &self.geo.geoip {
                    described.push(("GeoIP database".into(), f.display().to_string()));
                }
                builder.geo(db)
            }
            None => {
                described.push(("GeoIP".into(), "off".into()));
                builder.no_geo()
            }
        };
        let scope = match self.dns_scope {
            Scope::File => DnsScope::File,
            Scope::Batch => DnsScope::Batch,
        };
        described.push((
            "DNS answers".into(),
            match scope {
                DnsScope::Batch => "from every capture of the batch".into(),
                _ => "from the same capture only".into(),
            },
        ));
        let mut flows = FlowConfig::default();
        if let Some(n) = self.max_flows {
            flows.max_flows = n.max(1);
            described.push(("flow table limit".into(), n.to_string()));
        }
        if let Some(n) = self.max_flow_buffer {
            flows.max_buffer = usize::try_from(n).unwrap_or(usize::MAX);
            described.push((
                "out-of-order buffer per direction".into(),
                format!("{n} bytes"),
            ));
        }
        let mut bodies = BodyLimits::default();
        if let Some(n) = self.max_decompressed {
            bodies.max_decoded = usize::try_from(n).unwrap_or(usize::MAX);
            described.push(("decoded body limit".into(), format!("{n} bytes")));
        }
        Ok((
            builder
                .threads(self.threads)
                .key_log(keys)
                .dns_scope(scope)
                .flow_config(flows)
                .body_limits(bodies),
            described,
        ))
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum Scope {
    File,
    Batch,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// One row per destination, for reading on a terminal.
    Table,
    /// JSON Lines in the shape of Suricata's EVE.
    Jsonl,
    /// One row per flow (CSV).
    Csv,
    /// One row per destination (CSV).
    DestinationsCsv,
    /// One row per identifier finding (CSV).
    IdentifiersCsv,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("telltale: error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let args = match cli.command {
        Command::Analyze(args) => args,
        Command::Geo(args) => return geo(&args),
        Command::Report(args) => return report::run(&args),
    };
    raise_open_file_limit();
    let (mut builder, _) = args.analysis.builder()?;
    if args.redact {
        builder = builder.redact(Redactor::new(&redaction_key(args.redact_key.as_deref())?));
    }
    let analyzer = builder
        .sort_memory(usize::try_from(args.sort_memory).unwrap_or(usize::MAX))
        .collect_limit(args.collect_limit)
        .build();
    if args.stream {
        return stream(&analyzer, &args);
    }
    let sorted = match args.format {
        Format::Jsonl => Some(SortedFormat::Jsonl),
        Format::Csv => Some(SortedFormat::FlowsCsv),
        Format::IdentifiersCsv => Some(SortedFormat::IdentifiersCsv),
        Format::Table | Format::DestinationsCsv => None,
    };
    if let Some(format) = sorted {
        return sorted_output(&analyzer, &args, format);
    }
    // The rest are destinations, added up as flows end when the captures
    // are large (the report then holds no flows).
    let (report, rows) = analyzer.analyze_destinations(&args.paths)?;
    if !args.quiet {
        print_warnings(&report);
    }
    let mut out = output(args.output.as_deref())?;
    let written = match args.format {
        Format::Table => write_destination_rows_table(&report, &rows, &mut out),
        _ => write_destination_rows_csv(&rows, &mut out),
    };
    match written.and_then(|_| out.flush()) {
        // A closed pipe (`telltale ... | head`) is not an error.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
        r => r?,
    }
    let code = if report.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    };
    // The process ends now: freeing every flow, event and string one by one
    // was a twentieth of a whole run (perf), and the system takes the
    // memory back at once.
    std::mem::forget(report);
    std::mem::forget(rows);
    Ok(code)
}

/// Sorting a large output keeps temporary files open: up to 16 per merge
/// level for each capture, or part of one, being read (a few dozen each on
/// the largest captures), so many threads over many large captures can
/// pass a soft limit of 1,024. The soft limit is raised toward the hard
/// one, as far as 65,536; if that is refused the sort fails cleanly when
/// it meets the limit.
#[cfg(target_os = "linux")]
fn raise_open_file_limit() {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    const WANTED: u64 = 65_536;
    let limit = getrlimit(Resource::Nofile);
    let wanted = limit.maximum.map_or(WANTED, |max| max.min(WANTED));
    if limit.current.is_some_and(|current| current < wanted) {
        let raised = Rlimit {
            current: Some(wanted),
            maximum: limit.maximum,
        };
        let _ = setrlimit(Resource::Nofile, raised);
    }
}

#[cfg(not(target_os = "linux"))]
fn raise_open_file_limit() {}

/// Where the output goes: the file given, or standard output.
fn output(path: Option<&Path>) -> anyhow::Result<Box<dyn Write>> {
    Ok(match path {
        Some(path) => Box::new(BufWriter::new(
            File::create(path).with_context(|| format!("cannot write {}", path.display()))?,
        )),
        None => Box::new(BufWriter::new(io::stdout().lock())),
    })
}

/// `analyze -f jsonl`, `-f csv`, `-f identifiers-csv`: the collected
/// report's lines, sorted in bounded memory (temporary files beyond it)
/// for captures of any size.
fn sorted_output(
    analyzer: &Analyzer,
    args: &AnalyzeArgs,
    format: SortedFormat,
) -> anyhow::Result<ExitCode> {
    let mut out = output(args.output.as_deref())?;
    let report = match analyzer.analyze_sorted(&args.paths, format, &mut out) {
        Ok(report) => report,
        Err(telltale::Error::Write(e)) if e.kind() == io::ErrorKind::BrokenPipe => {
            return Ok(ExitCode::SUCCESS);
        }
        Err(e) => return Err(e.into()),
    };
    match out.flush() {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
        r => r?,
    }
    if !args.quiet {
        print_warnings(&report);
    }
    let code = if report.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    };
    // As in `run`: the process ends now, and the system takes the memory
    // back at once.
    std::mem::forget(report);
    Ok(code)
}

/// The pseudonym key: the given text, or 32 random bytes.
fn redaction_key(given: Option<&str>) -> anyhow::Result<Vec<u8>> {
    match given {
        Some(k) => Ok(k.as_bytes().to_vec()),
        None => {
            let mut k = vec![0u8; 32];
            getrandom::fill(&mut k)
                .map_err(|e| anyhow::anyhow!("no randomness for pseudonyms: {e}"))?;
            Ok(k)
        }
    }
}

/// `analyze --stream`: each capture written as it is read.
fn stream(analyzer: &Analyzer, args: &AnalyzeArgs) -> anyhow::Result<ExitCode> {
    if !matches!(args.format, Format::Jsonl) {
        anyhow::bail!("--stream writes JSON Lines: add -f jsonl");
    }
    if matches!(args.analysis.dns_scope, Scope::Batch) {
        anyhow::bail!(
            "--stream names flows from their own capture: it cannot take --dns-scope batch"
        );
    }
    let (files, walk_errors) = telltale::expand_inputs(&args.paths);
    let mut failed = !walk_errors.is_empty();
    for (path, e) in &walk_errors {
        eprintln!("telltale: error: {}: {e}", path.display());
    }
    let mut out = output(args.output.as_deref())?;
    for file in &files {
        match analyzer.stream_jsonl(file, &mut out) {
            Ok(capture) => {
                if !args.quiet {
                    let report = Report {
                        captures: vec![capture],
                        ..Report::default()
                    };
                    print_warnings(&report);
                }
            }
            Err(telltale::Error::Write(e)) if e.kind() == io::ErrorKind::BrokenPipe => {
                return Ok(ExitCode::SUCCESS);
            }
            Err(telltale::Error::Write(e)) => return Err(e.into()),
            Err(e) => {
                eprintln!("telltale: error: {e}");
                failed = true;
            }
        }
    }
    match out.flush() {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
        r => r?,
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn geo(args: &GeoArgs) -> anyhow::Result<ExitCode> {
    let mut addrs = Vec::new();
    for text in &args.addresses {
        match text.trim().parse::<IpAddr>() {
            Ok(a) => addrs.push(a),
            Err(_) => {
                eprintln!("telltale: error: {text:?} is not an IP address");
                return Ok(ExitCode::from(2));
            }
        }
    }
    let db = args.geo.db()?.unwrap_or_else(GeoDb::empty);
    let found: Vec<(IpAddr, Location)> = addrs.iter().map(|&a| (a, db.locate(a))).collect();
    let mut out = String::new();
    if args.json {
        for (addr, here) in &found {
            let g = here.geo.as_deref();
            let line = GeoLine {
                ip: *addr,
                scope: here.scope.as_str(),
                country_code: g.and_then(|g| g.country_code.as_deref()),
                country_name: g.and_then(|g| g.country_name.as_deref()),
                city: g.and_then(|g| g.city.as_deref()),
                latitude: g.and_then(|g| g.latitude),
                longitude: g.and_then(|g| g.longitude),
                asn: g.and_then(|g| g.asn),
                as_org: g.and_then(|g| g.as_org.as_deref()),
                db: g
                    .map(|g| g.sources.iter().map(|s| s.as_ref()).collect())
                    .unwrap_or_default(),
            };
            out.push_str(&serde_json::to_string(&line)?);
            out.push('\n');
        }
    } else {
        let mut rows = vec![
            [
                "ADDRESS",
                "SCOPE",
                "COUNTRY",
                "CITY",
                "ASN",
                "ORGANISATION",
                "DATABASES",
            ]
            .map(String::from),
        ];
        for (addr, here) in &found {
            let g = here.geo.as_deref();
            let text = |v: Option<String>| v.unwrap_or_else(|| "-".into());
            rows.push([
                addr.to_string(),
                here.scope.as_str().to_owned(),
                text(g.and_then(|g| {
                    let cc = g.country_code.as_deref()?;
                    Some(match &g.country_name {
                        Some(n) => format!("{cc} {n}"),
                        None => cc.to_owned(),
                    })
                })),
                text(g.and_then(|g| g.city.clone())),
                text(g.and_then(|g| g.asn.map(|a| format!("AS{a}")))),
                text(g.and_then(|g| g.as_org.clone())),
                text(g.map(|g| g.sources.join(","))),
            ]);
        }
        let mut widths = [0usize; 7];
        for row in &rows {
            for (w, c) in widths.iter_mut().zip(row) {
                *w = (*w).max(c.chars().count());
            }
        }
        for row in &rows {
            let mut line = String::new();
            for (c, w) in row.iter().zip(widths) {
                line.push_str(&format!("{c:<w$}  "));
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        for d in db.databases() {
            out.push_str(&format!(
                "GeoIP database: {} built {} ({})\n",
                d.name, d.build_date, d.origin
            ));
        }
        for credit in db.databases().filter_map(|d| d.attribution.as_deref()) {
            out.push_str(&format!("Data: {credit}.\n"));
        }
    }
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}

/// One line of `telltale geo --json`.
#[derive(serde::Serialize)]
struct GeoLine<'a> {
    ip: IpAddr,
    scope: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    country_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    country_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    city: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    latitude: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    longitude: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    asn: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    as_org: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    db: Vec<&'a str>,
}

fn print_warnings(report: &Report) {
    for f in &report.failures {
        eprintln!("telltale: error: {}", f.error);
    }
    for c in &report.captures {
        let name = c.path.display();
        for w in &c.warnings {
            eprintln!("telltale: warning: {name}: {w}");
        }
        for note in c.notices() {
            eprintln!("telltale: warning: {name}: {note}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert_eq!(parse_size("64K"), Ok(64 << 10));
        assert_eq!(parse_size("1M"), Ok(1 << 20));
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert_eq!(parse_size("3mb"), Ok(3 << 20));
        assert!(parse_size("").is_err());
        assert!(parse_size("1T").is_err());
        assert!(parse_size("-1").is_err());
        assert!(parse_size("99999999999999G").is_err());
    }
}
