//! `telltale report`: the batch report, written into one folder.

use std::fs::{self, File};
use std::io::{BufWriter, IsTerminal};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use telltale::Report;
use telltale::report::summary::GroupBy;
use telltale::report::{
    Redactor, ReportOptions, write_destinations_csv, write_dns_csv, write_flows_csv, write_html,
    write_identifiers_csv, write_jsonl, write_markdown, write_report_json,
};

use crate::{GroupByArg, ReportArgs, print_warnings, redaction_key};

/// The files a report folder holds, in the order they are written (the
/// page people open last, so a reader never opens a half-made report).
pub(crate) const FILES: &[&str] = &[
    "events.jsonl",
    "flows.csv",
    "identifiers.csv",
    "destinations.csv",
    "dns.csv",
    "report.json",
    "report.md",
    "index.html",
];

pub(crate) fn run(args: &ReportArgs) -> anyhow::Result<ExitCode> {
    let (inputs, _) = telltale::expand_inputs(&args.paths);
    if let Some(clash) = clobbers_input(&args.output, &inputs) {
        eprintln!(
            "telltale: error: writing the report into {} would replace the input {}; choose another folder",
            args.output.display(),
            clash.display()
        );
        return Ok(ExitCode::from(2));
    }

    let (mut builder, mut options) = args.analysis.builder()?;
    builder = builder.hash_inputs(true);
    if args.show_values {
        options.push(("identifier values".into(), "shown".into()));
    } else {
        builder = builder.redact(Redactor::new(&redaction_key(args.redact_key.as_deref())?));
        options.push((
            "identifier values".into(),
            if args.redact_key.is_some() {
                "masked with keyed pseudonyms (a given key: stable across reports)".into()
            } else {
                "masked with keyed pseudonyms (a random key: this report only)".into()
            },
        ));
    }
    let (group_by, sections) = match args.group_by {
        GroupByArg::File => (GroupBy::File, "one per capture file"),
        GroupByArg::Folder => (GroupBy::Folder, "one per folder"),
    };
    options.push(("sections".into(), sections.into()));

    let bar = progress_bar(inputs.len() as u64, args.quiet);
    let ticker = bar.clone();
    let analyzer = builder
        .on_capture_done(move |path| {
            ticker.set_message(
                path.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            );
            ticker.inc(1);
        })
        .build();
    let mut report = analyzer.analyze(&args.paths)?;
    bar.finish_and_clear();
    report.options = options;
    if !args.quiet {
        print_warnings(&report);
    }

    fs::create_dir_all(&args.output)
        .with_context(|| format!("cannot create {}", args.output.display()))?;
    let opts = ReportOptions {
        group_by,
        values_masked: !args.show_values,
    };
    for name in FILES {
        write_atomically(&args.output.join(name), |out| match *name {
            "events.jsonl" => write_jsonl(&report, out),
            "flows.csv" => write_flows_csv(&report, out),
            "identifiers.csv" => write_identifiers_csv(&report, out),
            "destinations.csv" => write_destinations_csv(&report, out),
            "dns.csv" => write_dns_csv(&report, out),
            "report.json" => write_report_json(&report, out),
            "report.md" => write_markdown(&report, &opts, out),
            _ => write_html(&report, &opts, out),
        })?;
    }
    println!("{}", summary_line(&report, &args.output.join("index.html")));
    Ok(if report.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn summary_line(report: &Report, index: &Path) -> String {
    let findings: usize = report.captures.iter().map(|c| c.identifiers.len()).sum();
    format!(
        "telltale: report of {} capture{} ({} identifier findings) written to {}",
        report.captures.len(),
        if report.captures.len() == 1 { "" } else { "s" },
        findings,
        index.display()
    )
}

/// The input a report file would overwrite, if any: the report's own files,
/// and the temporary files they are written through, must not be captures
/// being read. Compared by canonical path, so `./a/../x.pcap` is caught.
fn clobbers_input(dir: &Path, inputs: &[PathBuf]) -> Option<PathBuf> {
    let canon = |p: &Path| fs::canonicalize(p).ok();
    let inputs: Vec<(PathBuf, PathBuf)> = inputs
        .iter()
        .filter_map(|p| Some((p.clone(), canon(p)?)))
        .collect();
    // The folder itself may be a capture file given as input.
    if let Some(d) = canon(dir)
        && let Some((p, _)) = inputs.iter().find(|(_, c)| *c == d)
    {
        return Some(p.clone());
    }
    let base = canon(dir)?;
    FILES.iter().find_map(|name| {
        let out = base.join(name);
        let tmp = base.join(temp_name(name));
        inputs
            .iter()
            .find(|(_, c)| *c == out || *c == tmp)
            .map(|(p, _)| p.clone())
    })
}

fn temp_name(name: &str) -> String {
    format!(".{name}.telltale-tmp")
}

/// Writes a file whole or not at all: into a temporary file beside it,
/// flushed and synced, then renamed over the target (atomic on one file
/// system), so a reader never sees half a report and a failed run leaves
/// the previous one intact.
fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(temp_name(&name));
    let result = (|| -> std::io::Result<()> {
        let mut out = BufWriter::new(File::create(&tmp)?);
        write(&mut out)?;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        bail!("cannot write {}: {e}", path.display());
    }
    Ok(())
}

/// A bar on standard error when it is a terminal; hidden otherwise, or with
/// `--quiet`, so logs and pipes stay clean.
fn progress_bar(total: u64, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}")
    {
        bar.set_style(style);
    }
    bar
}
