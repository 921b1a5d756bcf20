//! The HTML report in a real browser: `telltale report` writes a folder,
//! headless Chromium loads its `index.html` from disk, runs its script and
//! dumps the DOM. Checks that the page's own script ran without errors, that
//! the sections, tables and charts the page promises are there, and that the
//! attacker-controlled names of `fixtures/hostile-names.pcap` stay text: no
//! injected element, no script run or refused, no raw right-to-left
//! override. The CSV files of that report are checked for formula cells
//! (no browser needed).
//!
//! Skips, saying so, when neither `chromium` nor `chromium-browser` is on
//! `PATH` (`.ci/run` installs Debian's `chromium` when it runs as root).
//! Screenshots go to `target/browser-test/`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The device profile both reports are made with.
const PROFILE: &str = "docs/device-profile.example.toml";
/// How long one Chromium run may take before the test gives up on it.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(60);

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

/// Where screenshots go: `<workspace>/target/browser-test/`.
fn out_dir() -> PathBuf {
    let dir = root().join("target/browser-test");
    std::fs::create_dir_all(&dir).expect("create target/browser-test");
    dir
}

/// A fresh scratch folder for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("telltale-browser-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch folder");
    dir
}

/// `telltale report -q -o <dir> --device <profile> <capture>`, run from the
/// workspace root; panics with its output unless it succeeds.
fn report(capture: &str, dir: &Path) {
    let out = Command::new(env!("CARGO_BIN_EXE_telltale"))
        .args(["report", "-q", "-o"])
        .arg(dir)
        .args(["--device", PROFILE, capture])
        .current_dir(root())
        .output()
        .expect("run telltale");
    assert!(
        out.status.success(),
        "telltale report {capture} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        dir.join("index.html").is_file(),
        "telltale report wrote no index.html in {}",
        dir.display()
    );
}

/// The Chromium binary on `PATH`, if any.
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser"].iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}

/// A `file://` URL for an absolute path (bytes outside the unreserved set
/// percent-encoded).
fn file_url(path: &Path) -> String {
    let mut url = String::from("file://");
    for &b in path.to_string_lossy().as_bytes() {
        if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
            url.push(char::from(b));
        } else {
            url.push_str(&format!("%{b:02X}"));
        }
    }
    url
}

/// What one headless Chromium run produced.
struct BrowserRun {
    /// The DOM after the page's scripts ran (`--dump-dom`).
    dom: String,
    /// Chromium's log, console messages of the page included.
    log: String,
}

/// Loads `page` in headless Chromium with a fresh profile, networking
/// services off, `--virtual-time-budget=3000` so scripts run to the end,
/// console messages logged to standard error; with `dump` dumps the DOM,
/// with `screenshot` writes a 1280×2400 PNG.
fn browse(
    browser: &Path,
    page: &Path,
    scratch: &Path,
    screenshot: Option<&Path>,
    dump: bool,
) -> BrowserRun {
    let profile = scratch.join(format!(
        "chromium-profile-{}",
        page.file_name().unwrap().to_string_lossy()
    ));
    let _ = std::fs::remove_dir_all(&profile);
    let mut cmd = Command::new(browser);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=3000",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    if let Some(png) = screenshot {
        cmd.arg(format!("--screenshot={}", png.display()))
            .arg("--window-size=1280,2400");
    }
    if dump {
        cmd.arg("--dump-dom");
    }
    cmd.arg(file_url(page))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = cmd.spawn().expect("start chromium");
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for chromium") {
            break status;
        }
        if started.elapsed() > BROWSER_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "chromium did not finish {} within {BROWSER_TIMEOUT:?}",
                page.display()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let run = BrowserRun {
        dom: stdout.join().unwrap(),
        log: stderr.join().unwrap(),
    };
    let _ = std::fs::remove_dir_all(&profile);
    assert!(
        status.success() && (!dump || run.dom.contains("<html")),
        "chromium failed on {} ({status}); its log:\n{}",
        page.display(),
        run.log
    );
    eprintln!(
        "chromium loaded {} in {:.1} s",
        page.display(),
        started.elapsed().as_secs_f64()
    );
    run
}

/// Console messages that show a script failed or was stopped: uncaught
/// errors, and Content Security Policy violations (Chromium's wording has
/// changed over versions: "Refused to execute inline script ...", later
/// "Executing inline script violates the following Content Security Policy
/// directive ..."). Only console lines count, not Chromium's own noise.
fn script_trouble(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| l.contains("CONSOLE"))
        .filter(|l| {
            l.contains("Uncaught")
                || l.contains("Refused to")
                || l.contains("Content Security Policy")
        })
        .collect()
}

/// Makes sure `script_trouble` sees what this Chromium logs: a canary page
/// whose inline script its own policy forbids must be reported. Without
/// this, a change in Chromium's log format would make the log check pass
/// on anything. Done once per test process.
fn check_console_logging(browser: &Path) {
    static CHECKED: OnceLock<Result<(), String>> = OnceLock::new();
    let result = CHECKED.get_or_init(|| {
        let dir = scratch("canary");
        let page = dir.join("canary.html");
        std::fs::write(
            &page,
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\">\
             <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'none'\">\
             <title>canary</title></head><body><p>canary</p>\
             <script>document.documentElement.dataset.canary = \"ran\";</script></body></html>",
        )
        .unwrap();
        let run = browse(browser, &page, &dir, None, true);
        let _ = std::fs::remove_dir_all(&dir);
        if run.dom.contains("data-canary=") {
            return Err("the canary's script ran despite its Content Security Policy".into());
        }
        if script_trouble(&run.log).is_empty() {
            return Err(format!(
                "chromium logged no console message for the canary's refused script, so \
                 this test cannot see refused or failing scripts; update script_trouble(). \
                 Its log:\n{}",
                run.log
            ));
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// The start tag of the first `<tag ...>` element whose `id` is `id`, as
/// Chromium serialises it (attributes in double quotes), and its offset.
fn find_element<'a>(dom: &'a str, tag: &str, id: &str) -> Option<(usize, &'a str)> {
    let open = format!("<{tag}");
    let want = format!(" id=\"{id}\"");
    let mut from = 0;
    while let Some(i) = dom[from..].find(&open).map(|i| i + from) {
        let after = dom[i + open.len()..].chars().next();
        let end = dom[i..].find('>').map_or(dom.len(), |e| i + e + 1);
        let start_tag = &dom[i..end];
        if matches!(after, Some(' ' | '>' | '\n' | '\t')) && start_tag.contains(&want) {
            return Some((i, start_tag));
        }
        from = i + open.len();
    }
    None
}

fn require_element<'a>(dom: &'a str, tag: &str, id: &str, page: &str) -> (usize, &'a str) {
    find_element(dom, tag, id)
        .unwrap_or_else(|| panic!("{page}: no <{tag} id=\"{id}\"> in the rendered page"))
}

/// The rows (`<tr ...>...`) of the table with the given id.
fn table_rows<'a>(dom: &'a str, id: &str, page: &str) -> Vec<&'a str> {
    let (start, _) = require_element(dom, "table", id, page);
    let end = dom[start..]
        .find("</table>")
        .map_or(dom.len(), |e| start + e);
    dom[start..end].split("<tr").skip(1).collect()
}

/// Checks every page must pass; returns the lower-cased DOM.
fn check_page(name: &str, browser: &Path, page: &Path, scratch: &Path) -> String {
    check_console_logging(browser);
    let png = out_dir().join(format!("{name}.png"));
    let _ = std::fs::remove_file(&png);
    let run = browse(browser, page, scratch, Some(&png), true);
    if !png.is_file() {
        // Older headless modes take one action per run: the DOM won.
        browse(browser, page, scratch, Some(&png), false);
    }
    let dom_file = out_dir().join(format!("{name}.dom.html"));
    std::fs::write(&dom_file, &run.dom).unwrap();
    eprintln!(
        "{name}: screenshot {} (DOM after scripts: {})",
        png.display(),
        dom_file.display()
    );
    assert!(png.is_file(), "{name}: chromium wrote no screenshot");

    let trouble = script_trouble(&run.log);
    assert!(
        trouble.is_empty(),
        "{name}: the page logged script errors or Content Security Policy violations \
         (on a page of hostile names a refused script means a name was not escaped):\n{}",
        trouble.join("\n")
    );

    let html = {
        let i = run.dom.find("<html").expect("an <html> element");
        let end = run.dom[i..].find('>').map_or(run.dom.len(), |e| i + e + 1);
        &run.dom[i..end]
    };
    assert!(
        html.contains(" data-ready=\"1\""),
        "{name}: the page's script did not run to DOMContentLoaded (no data-ready=\"1\" on \
         <html>): {html}"
    );
    assert!(
        !html.contains("data-script-errors"),
        "{name}: the page counted script errors: {html}"
    );

    for id in [
        "what-was-analysed",
        "headline",
        "destinations",
        "captures",
        "caveats",
    ] {
        require_element(&run.dom, "section", id, name);
    }
    require_element(&run.dom, "table", "headline-table", name);
    require_element(&run.dom, "table", "destinations-table", name);
    require_element(&run.dom, "input", "destinations-filter", name);
    require_element(&run.dom, "svg", "chart-country", name);
    require_element(&run.dom, "svg", "chart-organisation", name);
    run.dom
}

#[test]
fn redmi_report_renders_in_chromium() {
    let Some(browser) = chromium() else {
        eprintln!("skipped: chromium not installed");
        return;
    };
    let tmp = scratch("redmi");
    let dir = tmp.join("redmi");
    report("fixtures/redmi-1s-2014.pcap", &dir);
    let dom = check_page("redmi", &browser, &dir.join("index.html"), &tmp);
    let rows = table_rows(&dom, "headline-table", "redmi");
    assert!(
        rows.iter().any(|r| {
            let r = r.to_lowercase();
            r.contains("imei") && r.contains("api.account.xiaomi.com")
        }),
        "redmi: no headline row for the IMEI sent to api.account.xiaomi.com; rows:\n{}",
        rows.join("\n")
    );
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn hostile_names_stay_text_in_chromium() {
    let Some(browser) = chromium() else {
        eprintln!("skipped: chromium not installed");
        return;
    };
    let tmp = scratch("hostile");
    let dir = tmp.join("hostile");
    report("fixtures/hostile-names.pcap", &dir);
    let dom = check_page("hostile", &browser, &dir.join("index.html"), &tmp);

    // The names' scripts set data-pwned on <html> if they ever run; the
    // escaped text may hold the words, never the attribute.
    assert!(
        !dom.contains("data-pwned=\""),
        "hostile: an injected script ran (data-pwned set)"
    );
    // No name became markup: serialised elements look like this, escaped
    // text (&lt;...) and attribute values (quotes as &quot;) never do.
    for injected in [
        "<img src=\"x\"",
        "<svg onload=\"",
        "pwned=\"sni\"</script>",
        "pwned=\"ua\"</script>",
    ] {
        assert!(
            !dom.contains(injected),
            "hostile: a name became markup: {injected:?} is in the DOM"
        );
    }
    // The names are there, as text.
    let lower = dom.to_lowercase();
    for escaped in [
        "&lt;script&gt;document.documentelement.dataset.pwned=",
        "\"&gt;&lt;img src=x onerror=",
        "q'\"&gt;&lt;svg onload=",
        "moc.lapyap.evil.example",
        "+cmd.example",
    ] {
        assert!(
            lower.contains(escaped),
            "hostile: {escaped:?} is not in the page as text"
        );
    }
    // The IMEI sent to the hostile Host makes a headline row named by it.
    let rows = table_rows(&dom, "headline-table", "hostile");
    assert!(
        rows.iter().any(|r| {
            let r = r.to_lowercase();
            r.contains("imei") && r.contains("&lt;img src=x onerror=")
        }),
        "hostile: no headline row for the IMEI sent to the hostile Host; rows:\n{}",
        rows.join("\n")
    );
    // A right-to-left override must be shown, not obeyed.
    assert!(
        !dom.contains('\u{202e}'),
        "hostile: a raw U+202E (right-to-left override) is in the DOM"
    );
    let _ = std::fs::remove_dir_all(&tmp);
}

/// Columns that may hold a negative number.
fn numeric_may_be_negative(column: &str) -> bool {
    let c = column.to_ascii_lowercase();
    c.contains("latitude") || c.contains("longitude")
}

#[test]
fn hostile_names_cannot_run_as_spreadsheet_formulas() {
    let tmp = scratch("hostile-csv");
    let dir = tmp.join("hostile");
    report("fixtures/hostile-names.pcap", &dir);
    let mut cells: Vec<String> = Vec::new();
    let mut bad = Vec::new();
    let mut read = 0;
    for file in [
        "destinations.csv",
        "flows.csv",
        "identifiers.csv",
        "dns.csv",
    ] {
        let path = dir.join(file);
        if !path.is_file() {
            eprintln!("skipped {file}: telltale report did not write it");
            continue;
        }
        read += 1;
        let mut r = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(false)
            .from_path(&path)
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        let headers = r.headers().expect("a header row").clone();
        for (n, row) in r.records().enumerate() {
            let row = row.unwrap_or_else(|e| panic!("{file}: {e}"));
            for (column, value) in headers.iter().zip(row.iter()) {
                if value.starts_with(['=', '+', '-', '@', '\t', '\r'])
                    && !numeric_may_be_negative(column)
                {
                    bad.push(format!("{file} row {} column {column}: {value:?}", n + 1));
                }
                cells.push(value.to_lowercase());
            }
        }
    }
    assert!(
        bad.is_empty(),
        "cells a spreadsheet would run as formulas (they must start with '):\n{}",
        bad.join("\n")
    );
    if read > 0 {
        for name in [
            "'=hyperlink(\"http://x.example\",\"click\").example",
            "'+cmd.example",
            "'@sum(1+1).example",
            "'-2+3.example",
        ] {
            assert!(
                cells.iter().any(|c| c == name),
                "no CSV cell holds {name:?} (the DNS names of hostile-names.pcap, neutralised)"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
}
