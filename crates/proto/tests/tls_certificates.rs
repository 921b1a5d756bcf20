//! Server certificates from real TLS 1.2 captures in `../shared/captures`
//! (read in place, never copied). When `../shared` is absent the tests say
//! so and pass.

mod common;

use std::path::{Path, PathBuf};

use telltale_flow::{Dir, FlowEventKind, FlowInfo};
use telltale_proto::tls::{Certificate, TlsError, TlsEvent, TlsReader};

fn shared_captures() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/captures");
    dir.is_dir().then_some(dir)
}

/// What one TCP flow's two TLS readers learnt.
#[derive(Default)]
struct Conn {
    info: Option<FlowInfo>,
    readers: [TlsReader; 2],
    sni: Option<String>,
    version: Option<u16>,
    chain: Vec<Certificate>,
    errors: Vec<TlsError>,
}

/// Runs every TCP flow of a capture, both directions, through a
/// [`TlsReader`] each, in capture order as the dissectors would.
fn tls_flows(path: &Path) -> Vec<Conn> {
    common::per_flow(path, Conn::default, |conn, e| {
        conn.info = Some(*e.flow);
        match e.kind {
            FlowEventKind::Data { dir, bytes, .. } => {
                let r = &mut conn.readers[dir.index()];
                if r.done() {
                    return;
                }
                for ev in r.feed(bytes) {
                    match ev {
                        TlsEvent::ClientHello(ch) => conn.sni = ch.sni,
                        TlsEvent::ServerHello(sh) if !sh.hello_retry_request => {
                            conn.version = Some(sh.version())
                        }
                        TlsEvent::Certificates(chain) => {
                            assert_eq!(dir, Dir::ToClient, "certificates from the client");
                            conn.chain = chain;
                        }
                        _ => {}
                    }
                }
                if let Some(err) = r.error().filter(|_| r.done()) {
                    conn.errors.push(err.clone());
                }
            }
            FlowEventKind::Gap { dir, len, .. } => conn.readers[dir.index()].gap(len),
            _ => {}
        }
    })
}

#[test]
fn zeek_tls12_leaf_names_the_sni() {
    let Some(dir) = shared_captures() else {
        eprintln!("SKIPPED: ../shared/captures not found; TLS certificates not checked");
        return;
    };
    let path = dir.join("zeek-tls12-decryption.pcap");
    if !path.is_file() {
        eprintln!("SKIPPED: {} missing", path.display());
        return;
    }
    let conns = tls_flows(&path);
    let conn = conns
        .iter()
        .find(|c| c.sni.as_deref() == Some("heise.de"))
        .expect("a ClientHello for heise.de");
    assert_eq!(conn.version, Some(0x0303));
    assert!(conn.errors.is_empty(), "{:?}", conn.errors);
    assert!(conn.readers.iter().all(TlsReader::done));
    let leaf = conn.chain.first().expect("a certificate chain");
    assert_eq!(leaf.parse_error, None);
    assert!(
        leaf.san_dns.iter().any(|n| n == "heise.de"),
        "{:?}",
        leaf.san_dns
    );
    assert!(leaf.matches_name("heise.de"));
    assert!(leaf.not_before < leaf.not_after);
    // Chain order: each certificate is issued by the next one.
    for pair in conn.chain.windows(2) {
        assert_eq!(pair[0].issuer, pair[1].subject);
    }
}

/// Every TCP flow of every shared capture through the readers: nothing may
/// panic; the certificates found are printed (`--nocapture`) for review.
#[test]
fn all_shared_captures_certificates() {
    let Some(dir) = shared_captures() else {
        eprintln!("SKIPPED: ../shared/captures not found");
        return;
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("list captures")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .is_some_and(|x| x == "pcap" || x == "pcapng" || x == "gz")
        })
        .collect();
    paths.sort();
    let mut chains = 0;
    for path in &paths {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        for conn in tls_flows(path) {
            let Some(info) = conn.info else { continue };
            if conn.sni.is_none() && conn.version.is_none() {
                continue;
            }
            println!(
                "{name}: {} -> {} sni={:?} version={:?} certificates={} errors={:?}",
                info.client,
                info.server,
                conn.sni,
                conn.version.map(telltale_proto::tls::version_name),
                conn.chain.len(),
                conn.errors,
            );
            for c in &conn.chain {
                println!(
                    "    subject={:?} issuer={:?} san_dns={:?} san_ips={:?} serial={} valid={}..{} sha256={} error={:?}",
                    c.subject,
                    c.issuer,
                    c.san_dns,
                    c.san_ips,
                    c.serial,
                    c.not_before,
                    c.not_after,
                    c.sha256,
                    c.parse_error
                );
            }
            if let (Some(sni), Some(leaf)) = (&conn.sni, conn.chain.first()) {
                println!("    leaf matches sni: {}", leaf.matches_name(sni));
            }
            chains += usize::from(!conn.chain.is_empty());
        }
    }
    println!("{} captures, {chains} certificate chains", paths.len());
}
