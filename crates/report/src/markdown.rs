//! The Markdown report: the HTML report's content as plain text tables, for
//! newsroom wikis, tickets and diffs.
//!
//! Every cell is escaped so that a hostile name (`a|b`, `[x](http://..)`,
//! `<img>`, a newline) can neither add a column or row nor turn into
//! markup, a link or HTML when the file is rendered.

use std::fmt::Write as _;
use std::io::{self, Write};

use crate::html::{Doc, ReportOptions, Table, bars, bars_table, visible};
use crate::model::Report;
use crate::summary::GroupBy;

/// Text made safe for any inline Markdown context (table cells, headings,
/// list items): invisible characters shown as `\u{..}`, then every
/// character that means something to CommonMark or GFM inline syntax is
/// backslash-escaped, and `<`, `>`, `&` written as entities so no HTML or
/// entity survives.
pub(crate) fn md(s: &str) -> String {
    let v: Vec<char> = visible(s).chars().collect();
    let mut out = String::with_capacity(v.len() + 8);
    for (i, &ch) in v.iter().enumerate() {
        let after = |k: usize| v.get(i + k).copied();
        let www = i >= 3 && v[i - 3..i].iter().all(|c| c.eq_ignore_ascii_case(&'w'));
        match ch {
            // GFM turns bare `http://..`, `www.x.y` and `a@b.c` into links
            // as it parses; an escape in the pattern stops that (GitHub's
            // second, post-parse pass may still link e-mail addresses, to
            // the same text: nothing can be disguised that way).
            ':' if after(1) == Some('/') && after(2) == Some('/') => out.push_str("\\:"),
            '.' if www => out.push_str("\\."),
            '@' => out.push_str("\\@"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            // The backslash too: otherwise `\|` in a name would escape our
            // own escape and end the cell.
            '\\' | '|' | '`' | '*' | '_' | '[' | ']' | '~' => {
                out.push('\\');
                out.push(ch);
            }
            c => out.push(c),
        }
    }
    out
}

/// As [`md`], for heading text: a run of `#` at the end of a heading
/// would be read as its closing sequence and vanish.
fn md_heading(s: &str) -> String {
    md(s).replace('#', "\\#")
}

fn md_table(out: &mut String, t: &Table) {
    out.push('|');
    for c in &t.cols {
        let _ = write!(out, " {} |", md(c.name));
    }
    out.push_str("\n|");
    for c in &t.cols {
        out.push_str(if c.num { " ---: |" } else { " --- |" });
    }
    out.push('\n');
    for row in &t.rows {
        out.push('|');
        for cell in row {
            let text = md(&cell.text);
            let _ = write!(out, " {} |", if text.is_empty() { "-" } else { &text });
        }
        out.push('\n');
    }
    out.push('\n');
}

fn para(out: &mut String, text: &str) {
    let _ = writeln!(out, "{}\n", md(text));
}

/// Writes the batch report as Markdown: the same sections and tables as
/// [`write_html`](crate::write_html), with the charts given as tables.
/// Deterministic: the same report gives the same bytes.
pub fn write_markdown(
    report: &Report,
    opts: &ReportOptions,
    out: &mut impl Write,
) -> io::Result<()> {
    let doc = Doc::new(report, opts);
    let mut o = String::with_capacity(32 * 1024);
    let _ = writeln!(o, "# {}\n", md_heading(&doc.title()));
    para(&mut o, &doc.lead());
    let _ = writeln!(o, "> {}\n", md(doc.masking_note()));

    o.push_str("## What was analysed\n\n");
    let captures = doc.captures_table();
    if captures.rows.is_empty() {
        para(&mut o, "No capture could be read.");
    } else {
        md_table(&mut o, &captures);
    }
    let warnings = doc.warnings();
    if !warnings.is_empty() {
        o.push_str("### Warnings\n\n");
        for wline in &warnings {
            let _ = writeln!(o, "- {}", md(wline));
        }
        o.push('\n');
    }
    o.push_str("### GeoIP databases\n\n");
    let geo = doc.geo_table();
    if geo.rows.is_empty() {
        para(
            &mut o,
            "None: enrichment was off, so no country or organisation is given.",
        );
    } else {
        md_table(&mut o, &geo);
    }
    o.push_str("### Tool and options\n\n");
    md_table(&mut o, &doc.options_table());

    o.push_str("## Identifiers that left the device\n\n");
    para(
        &mut o,
        "Each row is one kind of device identifier sent to one destination (medium \
         confidence and above), across every capture. Packet numbers point at the evidence.",
    );
    let headline = doc.headline_table();
    if headline.rows.is_empty() {
        para(
            &mut o,
            "No device identifiers were found at medium confidence or above. \
             Low-confidence matches, if any, are listed per capture below.",
        );
    } else {
        md_table(&mut o, &headline);
    }

    o.push_str("## Destinations\n\n### By country\n\n");
    let by_country = bars(&doc.by_country);
    if by_country.is_empty() {
        para(&mut o, "No flows.");
    } else {
        md_table(&mut o, &bars_table("Country", &by_country));
    }
    o.push_str("### By organisation\n\n");
    let by_org = bars(&doc.by_organisation);
    if by_org.is_empty() {
        para(&mut o, "No flows.");
    } else {
        md_table(&mut o, &bars_table("Organisation", &by_org));
    }
    o.push_str("### All destinations\n\n");
    let dests = doc.destinations_table();
    if dests.rows.is_empty() {
        para(&mut o, "No flows.");
    } else {
        md_table(&mut o, &dests);
    }

    o.push_str("## Per capture\n\n");
    for (i, s) in doc.sections.iter().enumerate() {
        let _ = writeln!(o, "### {}. {}\n", i + 1, md_heading(&s.title));
        para(&mut o, &doc.section_summary(s));
        if s.captures.len() > 1 || opts.group_by == GroupBy::Folder {
            for &ci in &s.captures {
                let _ = writeln!(o, "- {}", md(&doc.capture_label(ci)));
            }
            o.push('\n');
        }
        for (heading, what, t) in [
            ("Flows", "flows", doc.flows_table(s)),
            ("DNS timeline", "DNS messages", doc.dns_table(s)),
            ("Identifier findings", "findings", doc.findings_table(s)),
        ] {
            let _ = writeln!(o, "#### {heading}\n");
            if t.rows.is_empty() {
                para(&mut o, &format!("No {what}."));
                continue;
            }
            if let Some(note) = Doc::left_out_note(&t, what) {
                para(&mut o, &note);
            }
            md_table(&mut o, &t);
        }
    }

    o.push_str("## What this report can and cannot tell you\n\n");
    for (head, text) in doc.caveats() {
        let _ = writeln!(o, "- **{}:** {}", md(head), md(&text));
    }
    o.push('\n');
    for credit in report
        .geo_databases
        .iter()
        .filter_map(|d| d.attribution.as_deref())
    {
        para(&mut o, &format!("GeoIP data: {credit}"));
    }
    let _ = writeln!(o, "Made by telltale {}.", md(&report.tool_version));
    out.write_all(o.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markdown_syntax() {
        assert_eq!(md("a|b"), "a\\|b");
        assert_eq!(md("a\\|b"), "a\\\\\\|b");
        assert_eq!(md("[x](y)"), "\\[x\\](y)");
        assert_eq!(md("<script>&"), "&lt;script&gt;&amp;");
        assert_eq!(md("*_`~#!"), "\\*\\_\\`\\~#!");
        assert_eq!(md_heading("a ##"), "a \\#\\#");
        assert_eq!(md("a\nb"), "a\\\\u{a}b");
        assert_eq!(md("x\u{202e}"), "x\\\\u{202e}");
        assert_eq!(md("http://x.example"), "http\\://x.example");
        assert_eq!(md("WWW.x.example"), "WWW\\.x.example");
        assert_eq!(md("a@b.example"), "a\\@b.example");
        assert_eq!(md("10.0.0.1:443"), "10.0.0.1:443");
    }

    #[test]
    fn empty_report() {
        let mut v = Vec::new();
        write_markdown(&Report::default(), &ReportOptions::default(), &mut v).unwrap();
        let s = String::from_utf8(v).unwrap();
        assert!(s.contains("## Identifiers that left the device"));
    }
}
