//! A readable table for the terminal: one row per destination.

use crate::destinations::{Destination, destinations};
use crate::model::Report;
use std::fmt::Write as _;
use std::io::{self, Write};

/// Writes the destinations table: every server name (or address, for flows
/// with no name) with its registrable domain, how it was named, addresses,
/// ports, protocols, flows, bytes each way and the kinds of device
/// identifiers its flows carried; busiest first.
pub fn write_destinations_table(report: &Report, out: &mut impl Write) -> io::Result<()> {
    write_destination_rows_table(report, &destinations(report), out)
}

/// As [`write_destinations_table`], for rows already added up (by a
/// [`DestinationTally`](crate::DestinationTally)); `report` gives the
/// footer (captures, GeoIP databases) and need not hold the flows.
pub fn write_destination_rows_table(
    report: &Report,
    rows: &[Destination],
    out: &mut impl Write,
) -> io::Result<()> {
    let header = [
        "DESTINATION",
        "DOMAIN",
        "NAMED BY",
        "ADDRESSES",
        "COUNTRY",
        "NETWORK",
        "PORTS",
        "APP",
        "FLOWS",
        "SENT",
        "RECEIVED",
        "IDENTIFIERS",
    ];
    let mut cells: Vec<[String; 12]> = Vec::with_capacity(rows.len());
    for r in rows {
        cells.push([
            printable(&r.name, 60),
            printable(r.registrable_domain.as_deref().unwrap_or("-"), 40),
            join(
                r.sources
                    .iter()
                    .copied()
                    .filter(|s| *s != "none" || r.sources.len() == 1),
            ),
            list(r.addresses.iter().map(|a| a.to_string()), 2),
            or_dash(join(r.countries.iter().map(String::as_str))),
            or_dash(list(
                r.networks
                    .iter()
                    .map(|(asn, org)| match (asn, org.as_str()) {
                        (0, org) => printable(org, 30),
                        (asn, "") => format!("AS{asn}"),
                        (asn, org) => format!("AS{asn} {}", printable(org, 30)),
                    }),
                1,
            )),
            list(r.ports.iter().cloned(), 3),
            join(r.app_protos.iter().copied()),
            r.flows.to_string(),
            human_bytes(r.bytes_toserver),
            human_bytes(r.bytes_toclient),
            join(r.identifier_kinds.iter().copied()),
        ]);
    }
    let mut widths = header.map(str::len);
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut text = String::new();
    let line = |text: &mut String, row: &[String]| {
        for (i, c) in row.iter().enumerate() {
            let pad = widths[i].saturating_sub(c.chars().count());
            // Numbers right-aligned, text left-aligned.
            if (8..11).contains(&i) {
                let _ = write!(text, "{}{}", " ".repeat(pad), c);
            } else if i + 1 < row.len() {
                let _ = write!(text, "{}{}", c, " ".repeat(pad));
            } else {
                text.push_str(c);
            }
            text.push_str(if i + 1 < row.len() { "  " } else { "\n" });
        }
    };
    line(&mut text, &header.map(String::from));
    for row in &cells {
        line(&mut text, row);
    }
    let flows: u64 = rows.iter().map(|r| r.flows).sum();
    let _ = writeln!(
        text,
        "\n{} destinations, {} flows in {} capture{}",
        rows.len(),
        flows,
        report.captures.len(),
        if report.captures.len() == 1 { "" } else { "s" }
    );
    if !report.geo_databases.is_empty() {
        let dbs: Vec<String> = report
            .geo_databases
            .iter()
            .map(|d| format!("{} ({})", d.name, d.build_date))
            .collect();
        let _ = writeln!(text, "GeoIP: {}", dbs.join(", "));
        for credit in report
            .geo_databases
            .iter()
            .filter_map(|d| d.attribution.as_deref())
        {
            let _ = writeln!(text, "GeoIP data: {credit}.");
        }
    }
    let text: String = text
        .lines()
        .map(|l| format!("{}\n", l.trim_end()))
        .collect();
    out.write_all(text.as_bytes())
}

fn join<'a>(items: impl Iterator<Item = &'a str>) -> String {
    items.collect::<Vec<_>>().join(",")
}

fn or_dash(s: String) -> String {
    if s.is_empty() { "-".into() } else { s }
}

fn list(items: impl Iterator<Item = String>, max: usize) -> String {
    let all: Vec<String> = items.collect();
    if all.len() <= max {
        all.join(",")
    } else {
        format!("{},+{}", all[..max].join(","), all.len() - max)
    }
}

/// Names come from the capture: control characters (terminal escapes) and
/// bidirectional overrides are shown escaped, never sent to the terminal.
pub fn printable(s: &str, max: usize) -> String {
    let mut out = String::new();
    for ch in s.chars() {
        if ch.is_control()
            || matches!(ch, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        {
            let _ = write!(out, "\\u{{{:x}}}", ch as u32);
        } else {
            out.push(ch);
        }
    }
    if out.chars().count() > max {
        let cut: String = out.chars().take(max.saturating_sub(1)).collect();
        return cut + "…";
    }
    out
}

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_terminal_controls() {
        assert_eq!(printable("a\x1b[31mb", 60), "a\\u{1b}[31mb");
        assert_eq!(printable("x\u{202e}y", 60), "x\\u{202e}y");
        assert_eq!(printable("abcdef", 4), "abc…");
    }

    #[test]
    fn bytes() {
        assert_eq!(human_bytes(10), "10 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
    }
}
