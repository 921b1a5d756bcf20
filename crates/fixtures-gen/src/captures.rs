//! Every fixture capture of the project, built from the pieces of this
//! crate. `fixtures/README.md` documents what a test should find in each.

use std::fs;
use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;

use flate2::{Compression, GzBuilder};

use crate::SplitMix64;
use crate::dns::{DnsMessage, RData, Record, TYPE_A, TYPE_AAAA};
use crate::http;
use crate::ip::{PROTO_UDP, ipv4_fragments, ipv6_fragments, udp_datagram, udp_packet};
use crate::link::{
    AF_INET6_DARWIN, AF_INET6_FREEBSD, AF_INET6_OPENBSD, DLT_USER0, Direction, Framing,
    TPID_8021AD, TPID_8021Q, VlanTag,
};
use crate::pcap::{Endian, TsResolution};
use crate::pcapng::PcapNgWriter;
use crate::quic::{
    self, InitialKeys, LongPacket, LongType, MIN_INITIAL_DATAGRAM, VERSION_1, VERSION_2,
};
use crate::tcp::TcpConversation;
use crate::tls::{ClientHello, EXT_PSK_KEY_EXCHANGE_MODES, ServerHello, TLS13};
use crate::trace::Trace;
use crate::x509;

/// One fixture file: its name inside the fixtures directory and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fixture {
    /// File name, e.g. `link-sll2.pcap`.
    pub name: &'static str,
    /// File contents.
    pub bytes: Vec<u8>,
}

const SEC: u64 = 1_000_000_000;
const MS: u64 = 1_000_000;
/// 2024-01-01T00:00:00Z, the start of every fixture except the RedMi one.
pub const BASE_TS: u64 = 1_704_067_200 * SEC;
/// 2014-07-30T10:05:00Z, the start of the RedMi 1S re-enactment.
pub const REDMI_TS: u64 = 1_406_714_700 * SEC;

/// MAC of the capturing host in the generic fixtures (locally administered).
pub const HOST_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x10];
/// MAC of the gateway in the generic fixtures.
pub const GATEWAY_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01];
/// Client (capturing host) IPv4 address in the generic fixtures.
pub const CLIENT_V4: Ipv4Addr = Ipv4Addr::new(192, 168, 56, 10);
/// Resolver IPv4 address in the generic fixtures.
pub const RESOLVER_V4: Ipv4Addr = Ipv4Addr::new(192, 168, 56, 1);
/// Server IPv4 address in the generic fixtures.
pub const SERVER_V4: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 80);
/// Client IPv6 address in the generic fixtures.
pub const CLIENT_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0x56, 0, 0, 0, 0, 0x10);
/// Resolver IPv6 address in the generic fixtures.
pub const RESOLVER_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0x56, 0, 0, 0, 0, 0x1);
/// Server IPv6 address in the generic fixtures.
pub const SERVER_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0x113, 0, 0, 0, 0, 0x80);

/// The phone's MAC in the RedMi capture (Xiaomi OUI 64:09:80).
pub const REDMI_MAC: [u8; 6] = [0x64, 0x09, 0x80, 0x3a, 0x1b, 0x2c];
/// The Wi-Fi router's MAC in the RedMi capture.
pub const ROUTER_MAC: [u8; 6] = [0x14, 0xcf, 0x92, 0x11, 0x22, 0x33];
/// The phone's address in the RedMi capture.
pub const REDMI_IP: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 23);
/// The router (DNS resolver) in the RedMi capture.
pub const ROUTER_IP: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 1);

/// IMEI sent by the RedMi: 14 digits plus a Luhn check digit.
pub fn redmi_imei() -> String {
    let body = "86512345678901";
    format!("{body}{}", crate::luhn_check_digit(body))
}
/// IMSI sent by the RedMi (MCC 460, MNC 01 = China Unicom).
pub const REDMI_IMSI: &str = "460011234567890";
/// The phone's own number.
pub const REDMI_PHONE: &str = "+8613812345678";
/// Carrier name as Android reports it.
pub const REDMI_CARRIER: &str = "CHN-UNICOM";
/// Contact numbers uploaded from the address book.
pub const REDMI_CONTACTS: [&str; 3] = ["+8613900001111", "+8615012345678", "+8618611112222"];

fn sa(ip: impl Into<IpAddr>, port: u16) -> SocketAddr {
    SocketAddr::new(ip.into(), port)
}

fn eth() -> Framing {
    Framing::ethernet(HOST_MAC, GATEWAY_MAC)
}

/// Every fixture capture, in a fixed order.
pub fn all() -> Vec<Fixture> {
    let mut v = vec![Fixture {
        name: "redmi-1s-2014.pcap",
        bytes: redmi(),
    }];
    v.extend(link_fixtures());
    v.extend(pcap_variants());
    v.extend(pcapng_fixtures());
    v.extend(fragment_fixtures());
    v.extend(tcp_fixtures());
    v.extend(quic_fixtures());
    v.push(Fixture {
        name: "naming-disagreements.pcap",
        bytes: pcap_of(&naming_trace()),
    });
    v.push(Fixture {
        name: "hostile-names.pcap",
        bytes: pcap_of(&hostile_trace()),
    });
    v
}

/// Every file the generator writes: the captures of [`all`], then the
/// GeoIP test database.
pub fn all_files() -> Vec<Fixture> {
    let mut v = all();
    v.push(Fixture {
        name: "geoip-test-city.mmdb",
        bytes: crate::geoip::city_mmdb(),
    });
    v
}

/// Writes every fixture into `dir` (created if missing) and returns each
/// file name with its size.
pub fn write_all(dir: &Path) -> io::Result<Vec<(&'static str, usize)>> {
    fs::create_dir_all(dir)?;
    let mut out = Vec::new();
    for f in all_files() {
        fs::write(dir.join(f.name), &f.bytes)?;
        out.push((f.name, f.bytes.len()));
    }
    Ok(out)
}

// ---------------------------------------------------------------- helpers

/// Pushes a DNS query and its response over UDP (2 packets); the response
/// gets its own IPv4 identification, as it comes from another host.
fn dns_udp(
    trace: &mut Trace,
    client: SocketAddr,
    server: SocketAddr,
    ident: u16,
    query: &DnsMessage,
    response: &DnsMessage,
) {
    trace.push(
        Direction::Outbound,
        udp_packet(client, server, ident, &query.to_bytes()),
    );
    trace.push(
        Direction::Inbound,
        udp_packet(
            server,
            client,
            ident.wrapping_add(0x4000),
            &response.to_bytes(),
        ),
    );
}

fn dns_answer(id: u16, name: &str, addr: IpAddr) -> (DnsMessage, DnsMessage) {
    let (qtype, data) = match addr {
        IpAddr::V4(a) => (TYPE_A, RData::A(a)),
        IpAddr::V6(a) => (TYPE_AAAA, RData::Aaaa(a)),
    };
    let q = DnsMessage::query(id, name, qtype);
    let r = q.response().answer(Record::new(name, 300, data));
    (q, r)
}

/// Handshake, one request, one response, FIN each way, last ACK: 8 packets.
fn http_flow(trace: &mut Trace, conv: &mut TcpConversation, request: &[u8], response: &[u8]) {
    trace.segments(&conv.handshake());
    trace.segment(&conv.client_data(request));
    trace.segment(&conv.server_data(response));
    close(trace, conv);
}

/// Client FIN, server FIN, client ACK.
fn close(trace: &mut Trace, conv: &mut TcpConversation) {
    trace.segment(&conv.client_fin());
    trace.segment(&conv.server_fin());
    trace.segment(&conv.client_ack());
}

/// DNS lookup of `host` then an HTTP GET of `/` to it: 10 packets over
/// IPv4 or IPv6.
fn dns_then_http(trace: &mut Trace, host: &str, v6: bool, dns_id: u16, client_port: u16) {
    let (client, resolver, server): (IpAddr, IpAddr, IpAddr) = if v6 {
        (CLIENT_V6.into(), RESOLVER_V6.into(), SERVER_V6.into())
    } else {
        (CLIENT_V4.into(), RESOLVER_V4.into(), SERVER_V4.into())
    };
    let (q, r) = dns_answer(dns_id, host, server);
    dns_udp(
        trace,
        sa(client, client_port),
        sa(resolver, 53),
        dns_id,
        &q,
        &r,
    );
    trace.wait(20 * MS);
    let mut conv = TcpConversation::new(
        sa(client, client_port + 1),
        sa(server, 80),
        0x1000_0000 + u32::from(dns_id),
        0x7000_0000,
    );
    let body = format!("{host} ok\n");
    http_flow(
        trace,
        &mut conv,
        &http::get("/", host),
        &http::ok_text(&body),
    );
}

// ---------------------------------------------------------------- RedMi 1S

fn redmi() -> Vec<u8> {
    let mut rng = SplitMix64::new(2014);
    let mut t = Trace::new(REDMI_TS, 15 * MS);
    let phone: IpAddr = REDMI_IP.into();
    let resolver = sa(ROUTER_IP, 53);
    let gap = 700 * MS;

    // 1. The account API name resolves through a CDN CNAME chain.
    let api_host = "api.account.xiaomi.com";
    let api_cdn1 = "api.account.xiaomi.com.cdn.example-cdn.net";
    let api_cdn2 = "bj-edge-07.example-cdn.net";
    let api_ip = Ipv4Addr::new(220, 181, 90, 14);
    let q = DnsMessage::query(0x3a01, api_host, TYPE_A);
    let r = q
        .response()
        .answer(Record::new(api_host, 600, RData::Cname(api_cdn1.into())))
        .answer(Record::new(api_cdn1, 120, RData::Cname(api_cdn2.into())))
        .answer(Record::new(api_cdn2, 60, RData::A(api_ip)));
    dns_udp(&mut t, sa(phone, 33001), resolver, 0x0101, &q, &r);
    t.wait(gap);

    // 2. The registration POST that leaks identifiers in clear text.
    let form = |s: &str| s.replace('+', "%2B").replace(',', "%2C");
    let body = format!(
        "imei={}&imsi={}&phone={}&carrier={}&model=HM1S&miui=JHCCNBF45.0&android=4.3&contacts={}",
        redmi_imei(),
        REDMI_IMSI,
        form(REDMI_PHONE),
        REDMI_CARRIER,
        form(&REDMI_CONTACTS.join(","))
    );
    let req = http::request(
        "POST",
        "/pass/v3/device/activate",
        api_host,
        &[
            (
                "User-Agent",
                "Dalvik/1.6.0 (Linux; U; Android 4.3; HM 1S MIUI/JHCCNBF45.0)",
            ),
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Connection", "keep-alive"),
        ],
        body.as_bytes(),
    );
    let resp = http::response(
        200,
        "OK",
        &[
            ("Server", "Tengine"),
            ("Content-Type", "application/json;charset=UTF-8"),
        ],
        br#"{"code":0,"description":"ok","data":{"userId":"1234567890","activated":true}}"#,
    );
    let mut conv = TcpConversation::new(sa(phone, 41822), sa(api_ip, 80), 0x5a3c_0001, 0x9e11_0001);
    http_flow(&mut t, &mut conv, &req, &resp);
    t.wait(gap);

    // 3. TLS services, each looked up first; one hello leaves SNI out.
    let services: [(&str, Ipv4Addr, bool, bool); 4] = [
        (
            "sdkconfig.ad.xiaomi.com",
            Ipv4Addr::new(220, 181, 90, 31),
            false,
            true,
        ),
        (
            "data.mistat.xiaomi.com",
            Ipv4Addr::new(220, 181, 90, 45),
            false,
            true,
        ),
        (
            "app.chat.xiaomi.net",
            Ipv4Addr::new(220, 181, 106, 12),
            true,
            true,
        ),
        (
            "resolver.msg.xiaomi.net",
            Ipv4Addr::new(220, 181, 106, 73),
            false,
            false,
        ),
    ];
    for (i, (name, addr, tls13, with_sni)) in services.into_iter().enumerate() {
        let i16 = u16::try_from(i).expect("small");
        let (q, r) = dns_answer(0x3a02 + i16, name, addr.into());
        dns_udp(
            &mut t,
            sa(phone, 33002 + i16),
            resolver,
            0x0102 + i16 * 2,
            &q,
            &r,
        );
        t.wait(40 * MS);
        let sni = with_sni.then_some(name);
        let ch = if tls13 {
            ClientHello::tls13(sni, &mut rng)
        } else {
            ClientHello::tls12(sni, &mut rng)
        };
        let sh = if tls13 {
            ServerHello::tls13(&ch, &mut rng)
        } else {
            ServerHello::tls12(&ch, &mut rng)
        };
        let mut conv = TcpConversation::new(
            sa(phone, 41823 + i16),
            sa(addr, 443),
            0x5a3c_1000 + 0x0100_0000 * u32::from(i16),
            0x9e11_1000 + 0x0100_0000 * u32::from(i16),
        );
        t.segments(&conv.handshake());
        t.segment(&conv.client_data(&ch.record_bytes()));
        t.segment(&conv.server_data(&sh.flight(&mut rng, 64)));
        t.segment(&conv.client_fin());
        t.segment(&conv.server_fin());
        t.wait(gap);
    }

    // 4. A lookup through Google Public DNS instead of the router.
    let (q, r) = dns_answer(
        0x3a10,
        "connect.rom.miui.com",
        Ipv4Addr::new(220, 181, 106, 88).into(),
    );
    dns_udp(
        &mut t,
        sa(phone, 33010),
        sa(Ipv4Addr::new(8, 8, 8, 8), 53),
        0x0110,
        &q,
        &r,
    );

    t.to_default_pcap(&Framing::ethernet(REDMI_MAC, ROUTER_MAC))
}

// ---------------------------------------------------------------- link types

/// The link-test exchange: IPv4 DNS + HTTP for `linktest.example` (10
/// packets), then (with `v6_dns`) an IPv6 AAAA lookup of it (2 packets).
fn linktest_trace(v6_dns: bool) -> Trace {
    let mut t = Trace::new(BASE_TS, 10 * MS);
    dns_then_http(&mut t, "linktest.example", false, 0x1100, 40100);
    if v6_dns {
        t.wait(50 * MS);
        let (q, r) = dns_answer(0x1106, "linktest.example", SERVER_V6.into());
        dns_udp(&mut t, sa(CLIENT_V6, 40106), sa(RESOLVER_V6, 53), 0, &q, &r);
    }
    t
}

fn link_fixtures() -> Vec<Fixture> {
    let both = linktest_trace(true);
    let v4_only = linktest_trace(false);
    let mut v6_only = Trace::new(BASE_TS, 10 * MS);
    dns_then_http(&mut v6_only, "linktest.example", true, 0x1160, 40160);

    let qinq = Framing::Ethernet {
        host: HOST_MAC,
        peer: GATEWAY_MAC,
        vlans: vec![
            VlanTag {
                tpid: TPID_8021AD,
                pcp: 0,
                vid: 100,
            },
            VlanTag {
                tpid: TPID_8021Q,
                pcp: 0,
                vid: 200,
            },
        ],
    };
    let le = |t: &Trace, f: Framing| t.to_default_pcap(&f);
    vec![
        Fixture {
            name: "link-ethernet.pcap",
            bytes: le(&both, eth()),
        },
        Fixture {
            name: "link-qinq.pcap",
            bytes: le(&both, qinq),
        },
        Fixture {
            name: "link-sll.pcap",
            bytes: le(
                &both,
                Framing::Sll {
                    host: HOST_MAC,
                    peer: GATEWAY_MAC,
                },
            ),
        },
        Fixture {
            name: "link-sll2.pcap",
            bytes: le(
                &both,
                Framing::Sll2 {
                    host: HOST_MAC,
                    peer: GATEWAY_MAC,
                    ifindex: 2,
                },
            ),
        },
        Fixture {
            name: "link-raw.pcap",
            bytes: le(&both, Framing::Raw),
        },
        Fixture {
            name: "link-ipv4.pcap",
            bytes: le(&v4_only, Framing::RawIpv4),
        },
        Fixture {
            name: "link-ipv6.pcap",
            bytes: le(&v6_only, Framing::RawIpv6),
        },
        Fixture {
            name: "link-null.pcap",
            bytes: le(
                &both,
                Framing::Null {
                    endian: Endian::Little,
                    af_inet6: AF_INET6_DARWIN,
                },
            ),
        },
        Fixture {
            name: "link-null-be.pcap",
            bytes: both.to_pcap(
                &Framing::Null {
                    endian: Endian::Big,
                    af_inet6: AF_INET6_FREEBSD,
                },
                Endian::Big,
                TsResolution::Micro,
                262_144,
            ),
        },
        Fixture {
            name: "link-loop.pcap",
            bytes: le(
                &both,
                Framing::Loop {
                    af_inet6: AF_INET6_OPENBSD,
                },
            ),
        },
        Fixture {
            name: "link-user0.pcap",
            bytes: le(
                &both,
                Framing::Opaque {
                    linktype: DLT_USER0,
                    host: HOST_MAC,
                    peer: GATEWAY_MAC,
                },
            ),
        },
    ]
}

// ---------------------------------------------------------------- pcap variants

fn variant_trace(host: &str, start: u64, step: u64, dns_id: u16) -> Trace {
    let mut t = Trace::new(start, step);
    dns_then_http(&mut t, host, false, dns_id, 40200 + (dns_id & 0xff) * 2);
    t
}

/// Gzip with every header field fixed, so the bytes do not depend on the
/// time or the operating system of the run.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(Vec::new(), Compression::new(6));
    enc.write_all(data).expect("writing to a Vec cannot fail");
    enc.finish().expect("writing to a Vec cannot fail")
}

fn pcap_variants() -> Vec<Fixture> {
    let big = variant_trace("bigendian.example", BASE_TS, 10 * MS, 0x2001);
    let nano = variant_trace(
        "nanosecond.example",
        BASE_TS + 123_456_789,
        1_000_001,
        0x2002,
    );
    let snap = variant_trace("snaplen.example", BASE_TS, 10 * MS, 0x2003);
    let gz = variant_trace("gzip.example", BASE_TS, 10 * MS, 0x2004);
    let cut = variant_trace("truncated.example", BASE_TS, 10 * MS, 0x2005);

    let mut truncated = cut.to_default_pcap(&eth());
    // End the file half-way through the data of frame 7 (the HTTP
    // response): frames 1-6 are whole, frame 7's record header is whole.
    let frames = cut.frames(&eth());
    let before: usize = 24 + frames[..6].iter().map(|(_, f)| 16 + f.len()).sum::<usize>();
    truncated.truncate(before + 16 + frames[6].1.len() / 2);

    vec![
        Fixture {
            name: "pcap-big-endian.pcap",
            bytes: big.to_pcap(&eth(), Endian::Big, TsResolution::Micro, 262_144),
        },
        Fixture {
            name: "pcap-nanosecond.pcap",
            bytes: nano.to_pcap(&eth(), Endian::Little, TsResolution::Nano, 262_144),
        },
        Fixture {
            name: "pcap-snaplen96.pcap",
            bytes: snap.to_pcap(&eth(), Endian::Little, TsResolution::Micro, 96),
        },
        Fixture {
            name: "pcap-gzip.pcap.gz",
            bytes: gzip(&gz.to_default_pcap(&eth())),
        },
        Fixture {
            name: "pcap-truncated.pcap",
            bytes: truncated,
        },
    ]
}

// ---------------------------------------------------------------- pcapng

/// The fixed key log line stored in the Decryption Secrets Block.
pub fn keylog_text() -> String {
    let random: String = (0u8..32).map(|b| format!("{b:02x}")).collect();
    let secret: String = (0u8..48)
        .map(|b| format!("{:02x}", 0xa0u8.wrapping_add(b)))
        .collect();
    format!("CLIENT_RANDOM {random} {secret}\n")
}

fn dns_query_ip(name: &str, id: u16, v6: bool) -> Vec<u8> {
    let q = DnsMessage::query(id, name, if v6 { TYPE_AAAA } else { TYPE_A });
    if v6 {
        udp_packet(
            sa(CLIENT_V6, 50000 + id),
            sa(RESOLVER_V6, 53),
            0,
            &q.to_bytes(),
        )
    } else {
        udp_packet(
            sa(CLIENT_V4, 50000 + id),
            sa(RESOLVER_V4, 53),
            id,
            &q.to_bytes(),
        )
    }
}

fn pcapng_fixtures() -> Vec<Fixture> {
    let eth = eth();
    let sll = Framing::Sll {
        host: HOST_MAC,
        peer: GATEWAY_MAC,
    };
    let out = Direction::Outbound;

    let mut w = PcapNgWriter::new(Endian::Little);
    let if0 = w.interface(1, 262_144, None, Some("eth0"));
    let if1 = w.interface(228, 262_144, Some(9), Some("tun0"));
    let if2 = w.interface(113, 262_144, Some(6), Some("any"));
    w.epb(
        if0,
        BASE_TS + SEC,
        &eth.frame(out, &dns_query_ip("if0.example", 1, false)),
    );
    w.raw_block(0x8000_7E57, b"an unknown local-use block: readers skip it");
    w.epb(
        if1,
        BASE_TS + 2 * SEC + 123_456_789,
        &dns_query_ip("if1.example", 2, false),
    );
    w.dsb_tls_keylog(&keylog_text());
    w.epb(
        if2,
        BASE_TS + 3 * SEC,
        &sll.frame(out, &dns_query_ip("if2.example", 3, false)),
    );
    w.custom_block(32473, b"telltale custom block (copyable): skip me", true);
    w.spb(&eth.frame(out, &dns_query_ip("spb.example", 4, false)));
    let opb_if = u16::try_from(if1).expect("small");
    w.opb(
        opb_if,
        BASE_TS + 5 * SEC + 987_654_321,
        &dns_query_ip("opb.example", 5, false),
    );
    w.section();
    let s2_raw = w.interface(101, 262_144, Some(9), Some("raw0"));
    let s2_eth = w.interface(1, 262_144, None, Some("eth1"));
    w.epb(
        s2_raw,
        BASE_TS + 6 * SEC,
        &dns_query_ip("s2-if0.example", 6, true),
    );
    w.custom_block(
        32473,
        b"telltale custom block (do not copy): skip me",
        false,
    );
    w.epb(
        s2_eth,
        BASE_TS + 7 * SEC,
        &eth.frame(out, &dns_query_ip("s2-if1.example", 7, false)),
    );
    let multi = w.into_bytes();

    let be_trace = variant_trace("bigendian-ng.example", BASE_TS, 10 * MS, 0x2006);
    let mut w = PcapNgWriter::new(Endian::Big);
    let id = w.interface(1, 262_144, Some(9), Some("en0"));
    for (ts, f) in be_trace.frames(&eth) {
        w.epb(id, ts, &f);
    }
    vec![
        Fixture {
            name: "pcapng-multi.pcapng",
            bytes: multi,
        },
        Fixture {
            name: "pcapng-big-endian.pcapng",
            bytes: w.into_bytes(),
        },
    ]
}

// ---------------------------------------------------------------- fragments

fn big_response(q: &DnsMessage, name: &str, v6: bool) -> DnsMessage {
    let mut r = q.response();
    for i in 1..=8u8 {
        let data = if v6 {
            RData::Aaaa(Ipv6Addr::new(0x2001, 0xdb8, 0xf6, 0, 0, 0, 0, u16::from(i)))
        } else {
            RData::A(Ipv4Addr::new(198, 51, 100, i))
        };
        r = r.answer(Record::new(name, 300, data));
    }
    let filler = format!("{name} is answered by a fragmented UDP datagram; ").repeat(4);
    r.answer(Record::new(
        name,
        300,
        RData::Txt(vec![filler[..200].to_owned()]),
    ))
}

fn fragment_fixtures() -> Vec<Fixture> {
    // IPv4: query, then the response in 3 fragments delivered 3rd, 1st, 2nd.
    let mut t = Trace::new(BASE_TS, 5 * MS);
    let (c, s) = (sa(CLIENT_V4, 40300), sa(RESOLVER_V4, 53));
    let q = DnsMessage::query(0xf4f4, "frag4.example", TYPE_A);
    t.push(Direction::Outbound, udp_packet(c, s, 0x0400, &q.to_bytes()));
    let dgram = udp_datagram(s, c, &big_response(&q, "frag4.example", false).to_bytes());
    let frags = ipv4_fragments(
        RESOLVER_V4,
        CLIENT_V4,
        PROTO_UDP,
        0xf4f4,
        &dgram,
        &[128, 256],
    );
    for i in [2, 0, 1] {
        t.push(Direction::Inbound, frags[i].clone());
    }
    let v4 = t.to_default_pcap(&eth());

    // IPv6: query, then the response in 3 fragments, in order.
    let mut t = Trace::new(BASE_TS, 5 * MS);
    let (c, s) = (sa(CLIENT_V6, 40306), sa(RESOLVER_V6, 53));
    let q = DnsMessage::query(0xf6f6, "frag6.example", TYPE_AAAA);
    t.push(Direction::Outbound, udp_packet(c, s, 0, &q.to_bytes()));
    let dgram = udp_datagram(s, c, &big_response(&q, "frag6.example", true).to_bytes());
    for f in ipv6_fragments(
        RESOLVER_V6,
        CLIENT_V6,
        PROTO_UDP,
        0x0000_f6f6,
        &dgram,
        &[128, 256],
    ) {
        t.push(Direction::Inbound, f);
    }
    let v6 = t.to_default_pcap(&eth());

    vec![
        Fixture {
            name: "ipv4-frag.pcap",
            bytes: v4,
        },
        Fixture {
            name: "ipv6-frag.pcap",
            bytes: v6,
        },
    ]
}

// ---------------------------------------------------------------- TCP cases

fn conv(port: u16, server_port: u16, isn_c: u32, isn_s: u32) -> TcpConversation {
    TcpConversation::new(
        sa(CLIENT_V4, port),
        sa(SERVER_V4, server_port),
        isn_c,
        isn_s,
    )
}

/// The request each TCP case carries: a GET with a few headers.
pub fn case_request(path: &str, host: &str) -> Vec<u8> {
    http::request(
        "GET",
        path,
        host,
        &[
            ("User-Agent", "telltale-fixtures/1.0"),
            ("Accept", "*/*"),
            ("X-Case", path.trim_start_matches('/')),
        ],
        b"",
    )
}

fn pcap_of(t: &Trace) -> Vec<u8> {
    t.to_default_pcap(&eth())
}

fn tcp_fixtures() -> Vec<Fixture> {
    let mut out = Vec::new();
    let step = 10 * MS;

    // Out of order: request in 3 segments delivered 3rd, 1st, 2nd.
    {
        let mut t = Trace::new(BASE_TS, step);
        let mut c = conv(40400, 80, 0x0400_0000, 0x4400_0000);
        t.segments(&c.handshake());
        let segs = c.client_data_split(&case_request("/out-of-order", "ooo.example"), &[20, 60]);
        t.segments(&[segs[2].clone(), segs[0].clone(), segs[1].clone()]);
        t.segment(&c.server_data(&http::ok_text("ooo\n")));
        close(&mut t, &mut c);
        out.push(Fixture {
            name: "tcp-out-of-order.pcap",
            bytes: pcap_of(&t),
        });
    }

    // Retransmission: first request segment and the response sent twice.
    {
        let mut t = Trace::new(BASE_TS, step);
        let mut c = conv(40401, 80, 0x0401_0000, 0x4401_0000);
        t.segments(&c.handshake());
        let segs = c.client_data_split(&case_request("/retransmit", "retransmit.example"), &[30]);
        let again = c.retransmit(&segs[0]);
        t.segments(&[segs[0].clone(), again, segs[1].clone()]);
        let resp = c.server_data(&http::ok_text("retransmit\n"));
        let resp_again = c.retransmit(&resp);
        t.segments(&[resp, resp_again]);
        close(&mut t, &mut c);
        out.push(Fixture {
            name: "tcp-retransmit.pcap",
            bytes: pcap_of(&t),
        });
    }

    // Overlap: after bytes 0..30 and 30.. arrived, a segment re-sends
    // 20..45 with "overlap" changed to "spoofed". First data wins.
    {
        let mut t = Trace::new(BASE_TS, step);
        let mut c = conv(40402, 80, 0x0402_0000, 0x4402_0000);
        t.segments(&c.handshake());
        let req = case_request("/overlap", "overlap.example");
        let segs = c.client_data_split(&req, &[30]);
        t.segments(&segs);
        let forged = String::from_utf8(req[20..45].to_vec())
            .expect("ascii")
            .replacen("overlap", "spoofed", 1);
        assert_ne!(forged.as_bytes(), &req[20..45]);
        t.segment(&c.client_at(20, forged.as_bytes()));
        t.segment(&c.server_data(&http::ok_text("overlap\n")));
        close(&mut t, &mut c);
        out.push(Fixture {
            name: "tcp-overlap.pcap",
            bytes: pcap_of(&t),
        });
    }

    // Gap: a whole request is never captured; the next one starts right
    // after it and the server's ACK covers both.
    {
        let mut t = Trace::new(BASE_TS, step);
        let mut c = conv(40403, 80, 0x0403_0000, 0x4403_0000);
        t.segments(&c.handshake());
        t.segment(&c.client_data(&case_request("/before-gap", "gap.example")));
        t.segment(&c.server_data(&http::ok_text("before\n")));
        let lost = case_request("/lost-in-gap", "gap.example");
        c.skip_client(u32::try_from(lost.len()).expect("small"));
        t.segment(&c.client_data(&case_request("/after-gap", "gap.example")));
        t.segment(&c.server_data(&http::ok_text("lost\n")));
        t.segment(&c.server_data(&http::ok_text("after\n")));
        close(&mut t, &mut c);
        out.push(Fixture {
            name: "tcp-gap.pcap",
            bytes: pcap_of(&t),
        });
    }

    // TLS ClientHello (512-byte handshake) over 3 TCP segments: 3 bytes
    // (inside the record header), 197, then the rest.
    {
        let mut rng = SplitMix64::new(0x5e6);
        let mut t = Trace::new(BASE_TS, step);
        let mut c = conv(40404, 443, 0x0404_0000, 0x4404_0000);
        let mut ch = ClientHello::tls13(Some("split-segments.example"), &mut rng);
        ch.pad_to = Some(512);
        t.segments(&c.handshake());
        t.segments(&c.client_data_split(&ch.record_bytes(), &[3, 200]));
        let sh = ServerHello::tls13(&ch, &mut rng);
        t.segment(&c.server_data(&sh.flight(&mut rng, 64)));
        close(&mut t, &mut c);
        out.push(Fixture {
            name: "tls-split-segments.pcap",
            bytes: pcap_of(&t),
        });
    }

    // TLS ClientHello in 2 records, cut through the middle of the SNI name,
    // both records in one TCP segment.
    {
        let mut rng = SplitMix64::new(0x5e7);
        let mut t = Trace::new(BASE_TS, step);
        let mut c = conv(40405, 443, 0x0405_0000, 0x4405_0000);
        let name = "split-records.example";
        let ch = ClientHello::tls13(Some(name), &mut rng);
        let hs = ch.handshake_bytes();
        let at = hs
            .windows(name.len())
            .position(|w| w == name.as_bytes())
            .expect("SNI present")
            + name.len() / 2;
        t.segments(&c.handshake());
        t.segment(&c.client_data(&ch.records_split(&[at])));
        let sh = ServerHello::tls13(&ch, &mut rng);
        t.segment(&c.server_data(&sh.flight(&mut rng, 64)));
        close(&mut t, &mut c);
        out.push(Fixture {
            name: "tls-split-records.pcap",
            bytes: pcap_of(&t),
        });
    }

    // DNS over TCP: two queries in one segment; the second answer split
    // across two segments.
    {
        let mut t = Trace::new(BASE_TS, step);
        let mut c = TcpConversation::new(
            sa(CLIENT_V4, 40406),
            sa(RESOLVER_V4, 53),
            0x0406_0000,
            0x4406_0000,
        );
        let (q1, r1) = dns_answer(0x7c01, "tcp1.example", Ipv4Addr::new(192, 0, 2, 53).into());
        let (q2, r2) = dns_answer(
            0x7c02,
            "tcp2.example",
            Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x53).into(),
        );
        t.segments(&c.handshake());
        let mut both = q1.to_tcp_bytes();
        both.extend_from_slice(&q2.to_tcp_bytes());
        t.segment(&c.client_data(&both));
        t.segment(&c.server_data(&r1.to_tcp_bytes()));
        let r2b = r2.to_tcp_bytes();
        t.segments(&c.server_data_split(&r2b, &[r2b.len() / 2]));
        close(&mut t, &mut c);
        out.push(Fixture {
            name: "dns-tcp.pcap",
            bytes: pcap_of(&t),
        });
    }

    // Port reuse: the same 4-tuple carries two connections, the second
    // opened by a new SYN after the first closed.
    {
        let mut t = Trace::new(BASE_TS, step);
        let mut first = conv(40407, 80, 0x0100_0000, 0x0200_0000);
        http_flow(
            &mut t,
            &mut first,
            &case_request("/first", "reuse-1.example"),
            &http::ok_text("first\n"),
        );
        t.wait(SEC);
        let mut second = conv(40407, 80, 0x0300_0000, 0x0400_0000);
        http_flow(
            &mut t,
            &mut second,
            &case_request("/second", "reuse-2.example"),
            &http::ok_text("second\n"),
        );
        out.push(Fixture {
            name: "tcp-port-reuse.pcap",
            bytes: pcap_of(&t),
        });
    }

    // Mid-stream: the capture starts on an established connection.
    {
        let mut t = Trace::new(BASE_TS, step);
        let mut c = TcpConversation::established(
            sa(CLIENT_V4, 51000),
            sa(SERVER_V4, 80),
            0x1234_5678,
            0x8765_4321,
        );
        t.segment(&c.client_data(&case_request("/midstream", "midstream.example")));
        t.segment(&c.server_data(&http::ok_text("midstream\n")));
        t.segment(&c.client_ack());
        out.push(Fixture {
            name: "tcp-midstream.pcap",
            bytes: pcap_of(&t),
        });
    }

    // Pipelining: two GETs in one segment, two responses.
    {
        let mut t = Trace::new(BASE_TS, step);
        let mut c = conv(40409, 80, 0x0409_0000, 0x4409_0000);
        t.segments(&c.handshake());
        let mut two = http::get("/one", "pipeline.example");
        two.extend_from_slice(&http::get("/two", "pipeline.example"));
        t.segment(&c.client_data(&two));
        t.segment(&c.server_data(&http::ok_text("one\n")));
        t.segment(&c.server_data(&http::response(
            404,
            "Not Found",
            &[("Content-Type", "text/plain")],
            b"two\n",
        )));
        close(&mut t, &mut c);
        out.push(Fixture {
            name: "http-pipelined.pcap",
            bytes: pcap_of(&t),
        });
    }
    out
}

// ---------------------------------------------------------------- QUIC

/// Destination Connection ID of the client's first Initial in
/// `quic-split-hello.pcap` (the Initial keys come from it).
pub const QUIC_SPLIT_DCID: [u8; 8] = [0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8];
/// Same for `quic-reordered-crypto.pcap`.
pub const QUIC_REORDERED_DCID: [u8; 8] = [0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8];
/// Same for `quic-v2.pcap`.
pub const QUIC_V2_DCID: [u8; 8] = [0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8];

/// A ClientHello as a QUIC client sends it: TLS 1.3 only, no legacy
/// session id (RFC 9001 §8.4), ALPN h3, transport parameters.
fn quic_client_hello(sni: &str, scid: &[u8], rng: &mut SplitMix64) -> ClientHello {
    let mut ch = ClientHello::tls13(Some(sni), rng);
    ch.session_id = Vec::new();
    ch.cipher_suites = vec![0x1301, 0x1302, 0x1303];
    ch.alpn = vec!["h3".into()];
    ch.supported_versions = vec![TLS13];
    ch.extra_extensions = vec![
        (EXT_PSK_KEY_EXCHANGE_MODES, vec![1, 1]),
        (
            quic::EXT_QUIC_TRANSPORT_PARAMETERS,
            quic::client_transport_parameters(scid),
        ),
    ];
    ch
}

/// The server's first datagram: an Initial with an ACK of the client's
/// packets 0..=`acked` and the ServerHello, coalesced with a Handshake
/// packet of opaque bytes that fills the datagram to 1200 bytes.
fn quic_server_flight(
    version: u32,
    original_dcid: &[u8],
    client_scid: &[u8],
    server_scid: &[u8],
    acked: u64,
    ch: &ClientHello,
    rng: &mut SplitMix64,
) -> Vec<u8> {
    let sh = ServerHello::tls13(ch, rng);
    let mut frames = quic::ack_frame(acked);
    frames.extend_from_slice(&quic::crypto_frame(0, &sh.handshake_bytes()));
    let keys = InitialKeys::new(version, original_dcid, true);
    let mut d = LongPacket::initial(version, client_scid, server_scid, 0, frames).protect(&keys);
    let fill = MIN_INITIAL_DATAGRAM - d.len();
    d.extend_from_slice(&quic::opaque_packet(
        version,
        LongType::Handshake,
        client_scid,
        server_scid,
        fill,
        rng,
    ));
    d
}

/// How many CRYPTO bytes at `offset` fit in a 1200-byte Initial with these
/// connection IDs (the CRYPTO length takes 2 bytes from 64 on).
fn crypto_room(version: u32, dcid: &[u8], scid: &[u8], offset: u64) -> usize {
    let probe = LongPacket::initial(version, dcid, scid, 0, quic::crypto_frame(offset, &[0; 64]));
    MIN_INITIAL_DATAGRAM - probe.protected_len() + 64
}

fn quic_fixtures() -> Vec<Fixture> {
    let server = sa(SERVER_V4, 443);
    let step = 10 * MS;
    let mut out = Vec::new();

    // A ClientHello padded to 1600 bytes cannot fit in one Initial: the
    // client sends two 1200-byte datagrams, the second continuing the
    // CRYPTO stream where the first stopped.
    {
        let mut rng = SplitMix64::new(0x9c01);
        let client = sa(CLIENT_V4, 40500);
        let (dcid, scid, server_scid) =
            (QUIC_SPLIT_DCID, [0xc1, 0xc2, 0xc3, 0xc4], [0x5e, 0, 0, 1]);
        let mut ch = quic_client_hello("quic-split.example", &scid, &mut rng);
        ch.pad_to = Some(1600);
        let hs = ch.handshake_bytes();
        let keys = InitialKeys::new(VERSION_1, &dcid, false);
        let cut = crypto_room(VERSION_1, &dcid, &scid, 0);
        let mut t = Trace::new(BASE_TS, step);
        for (pn, (offset, piece)) in [(0, &hs[..cut]), (cut, &hs[cut..])].into_iter().enumerate() {
            let p = LongPacket::initial(
                VERSION_1,
                &dcid,
                &scid,
                pn as u64,
                quic::crypto_frame(offset as u64, piece),
            );
            let d = p.protect_padded(&keys, MIN_INITIAL_DATAGRAM);
            assert_eq!(d.len(), MIN_INITIAL_DATAGRAM);
            t.push(
                Direction::Outbound,
                udp_packet(client, server, 0x5100 + pn as u16, &d),
            );
        }
        let flight = quic_server_flight(VERSION_1, &dcid, &scid, &server_scid, 1, &ch, &mut rng);
        t.push(
            Direction::Inbound,
            udp_packet(server, client, 0x9100, &flight),
        );
        out.push(Fixture {
            name: "quic-split-hello.pcap",
            bytes: pcap_of(&t),
        });
    }

    // One Initial whose ClientHello is cut into 3 CRYPTO frames (through
    // the SNI name and through the ALPN name) placed in reverse offset
    // order; then a datagram coalescing an Initial that carries only PING
    // and PADDING with an opaque 0-RTT packet; then the server's flight.
    {
        let mut rng = SplitMix64::new(0x9c02);
        let client = sa(CLIENT_V4, 40501);
        let (dcid, scid, server_scid) = (
            QUIC_REORDERED_DCID,
            [0xc5, 0xc6, 0xc7, 0xc8],
            [0x5e, 0, 0, 2],
        );
        let name = "quic-reordered.example";
        let ch = quic_client_hello(name, &scid, &mut rng);
        let hs = ch.handshake_bytes();
        let find = |needle: &[u8]| {
            hs.windows(needle.len())
                .position(|w| w == needle)
                .expect("present")
        };
        let a = find(name.as_bytes()) + name.len() / 2;
        let b = find(b"\x02h3") + 2;
        let mut frames = quic::crypto_frame(b as u64, &hs[b..]);
        frames.extend_from_slice(&quic::crypto_frame(a as u64, &hs[a..b]));
        frames.extend_from_slice(&quic::crypto_frame(0, &hs[..a]));
        let keys = InitialKeys::new(VERSION_1, &dcid, false);
        let mut t = Trace::new(BASE_TS, step);
        let d1 = LongPacket::initial(VERSION_1, &dcid, &scid, 0, frames)
            .protect_padded(&keys, MIN_INITIAL_DATAGRAM);
        t.push(Direction::Outbound, udp_packet(client, server, 0x5200, &d1));
        let zero_rtt_len = 300;
        let mut d2 = LongPacket::initial(VERSION_1, &dcid, &scid, 1, vec![quic::PING])
            .protect_padded(&keys, MIN_INITIAL_DATAGRAM - zero_rtt_len);
        d2.extend_from_slice(&quic::opaque_packet(
            VERSION_1,
            LongType::ZeroRtt,
            &dcid,
            &scid,
            zero_rtt_len,
            &mut rng,
        ));
        assert_eq!(d2.len(), MIN_INITIAL_DATAGRAM);
        t.push(Direction::Outbound, udp_packet(client, server, 0x5201, &d2));
        let flight = quic_server_flight(VERSION_1, &dcid, &scid, &server_scid, 1, &ch, &mut rng);
        t.push(
            Direction::Inbound,
            udp_packet(server, client, 0x9200, &flight),
        );
        out.push(Fixture {
            name: "quic-reordered-crypto.pcap",
            bytes: pcap_of(&t),
        });
    }

    // QUIC version 2 (RFC 9369): its own salt, labels and type bits.
    {
        let mut rng = SplitMix64::new(0x9c03);
        let client = sa(CLIENT_V4, 40502);
        let (dcid, scid, server_scid) = (QUIC_V2_DCID, [0xc9, 0xca, 0xcb, 0xcc], [0x5e, 0, 0, 3]);
        let ch = quic_client_hello("quic-v2.example", &scid, &mut rng);
        let keys = InitialKeys::new(VERSION_2, &dcid, false);
        let mut t = Trace::new(BASE_TS, step);
        let d = LongPacket::initial(
            VERSION_2,
            &dcid,
            &scid,
            0,
            quic::crypto_frame(0, &ch.handshake_bytes()),
        )
        .protect_padded(&keys, MIN_INITIAL_DATAGRAM);
        t.push(Direction::Outbound, udp_packet(client, server, 0x5300, &d));
        let flight = quic_server_flight(VERSION_2, &dcid, &scid, &server_scid, 0, &ch, &mut rng);
        t.push(
            Direction::Inbound,
            udp_packet(server, client, 0x9300, &flight),
        );
        out.push(Fixture {
            name: "quic-v2.pcap",
            bytes: pcap_of(&t),
        });
    }
    out
}

// ---------------------------------------------------------------- naming

/// Start of `naming-disagreements.pcap`, 2024-01-01T01:00:00Z: an hour after
/// the other fixtures begin, so its packets never share a timestamp with
/// theirs when several captures are analysed as one batch.
pub const NAMING_TS: u64 = BASE_TS + 3600 * SEC;

/// What the server answers in a flow of `naming-disagreements.pcap`.
#[derive(Debug, Clone, Copy)]
pub enum NamingFlight {
    /// TLS 1.3: ServerHello, ChangeCipherSpec, 64 encrypted bytes. The
    /// certificate travels encrypted, so nothing can compare it with the SNI.
    Tls13,
    /// TLS 1.2: ServerHello, Certificate (one certificate) and
    /// ServerHelloDone, so the certificate's names are visible.
    Tls12 {
        /// Subject commonName of the certificate.
        cn: &'static str,
        /// Its subjectAltName dNSName entries.
        san: &'static [&'static str],
    },
}

/// One TLS flow of `naming-disagreements.pcap`, with the DNS lookup that
/// precedes it (if any).
#[derive(Debug, Clone, Copy)]
pub struct NamingFlow {
    /// Name looked up (type A) just before the flow and answered with
    /// `server`; `None` when no DNS answer in the capture resolves it.
    pub dns: Option<&'static str>,
    /// Server address (port 443).
    pub server: Ipv4Addr,
    /// SNI of the ClientHello; `None` leaves the extension out.
    pub sni: Option<&'static str>,
    /// The server's first flight.
    pub flight: NamingFlight,
}

/// The flows of `naming-disagreements.pcap`, in capture order: each sets
/// off one destination-naming disagreement, and the last one none.
pub const NAMING_FLOWS: [NamingFlow; 5] = [
    // SNI is not the name DNS gave for the address: sni_not_in_dns.
    NamingFlow {
        dns: Some("cdn.example"),
        server: Ipv4Addr::new(198, 51, 100, 10),
        sni: Some("other.example"),
        flight: NamingFlight::Tls13,
    },
    // An address no DNS answer resolved: not_resolved_by_dns.
    NamingFlow {
        dns: None,
        server: Ipv4Addr::new(198, 51, 100, 20),
        sni: Some("hardcoded.example"),
        flight: NamingFlight::Tls13,
    },
    // DNS and SNI agree, the certificate is for another name:
    // sni_not_in_cert.
    NamingFlow {
        dns: Some("bank.example"),
        server: Ipv4Addr::new(198, 51, 100, 30),
        sni: Some("bank.example"),
        flight: NamingFlight::Tls12 {
            cn: "*.evil.example",
            san: &["*.evil.example", "evil.example"],
        },
    },
    // No SNI and no DNS: only the certificate names the destination.
    NamingFlow {
        dns: None,
        server: Ipv4Addr::new(198, 51, 100, 40),
        sni: None,
        flight: NamingFlight::Tls12 {
            cn: "named-by-cert.example",
            san: &["named-by-cert.example"],
        },
    },
    // The control: DNS, SNI and certificate all agree.
    NamingFlow {
        dns: Some("good.example"),
        server: Ipv4Addr::new(198, 51, 100, 50),
        sni: Some("good.example"),
        flight: NamingFlight::Tls12 {
            cn: "good.example",
            san: &["good.example", "*.good.example"],
        },
    },
];

/// `naming-disagreements.pcap`: for flow `i` (1-based) of [`NAMING_FLOWS`],
/// an optional DNS lookup from port 40600 + 10i (id 0x0600 + 0x10i), then
/// TLS from port 40601 + 10i: handshake, ClientHello, server flight,
/// FIN/FIN/ACK.
fn naming_trace() -> Trace {
    let mut rng = SplitMix64::new(0x6a3e);
    let mut t = Trace::new(NAMING_TS, 10 * MS);
    for (i, f) in (1u16..).zip(NAMING_FLOWS) {
        let dns_port = 40600 + 10 * i;
        if let Some(name) = f.dns {
            let id = 0x0600 + 0x10 * i;
            let (q, r) = dns_answer(id, name, f.server.into());
            dns_udp(
                &mut t,
                sa(CLIENT_V4, dns_port),
                sa(RESOLVER_V4, 53),
                id,
                &q,
                &r,
            );
            t.wait(20 * MS);
        }
        let mut c = TcpConversation::new(
            sa(CLIENT_V4, dns_port + 1),
            sa(f.server, 443),
            0x0600_0000 + 0x0010_0000 * u32::from(i),
            0x4600_0000 + 0x0010_0000 * u32::from(i),
        );
        t.segments(&c.handshake());
        let flight = match f.flight {
            NamingFlight::Tls13 => {
                let ch = ClientHello::tls13(f.sni, &mut rng);
                t.segment(&c.client_data(&ch.record_bytes()));
                ServerHello::tls13(&ch, &mut rng).flight(&mut rng, 64)
            }
            NamingFlight::Tls12 { cn, san } => {
                let ch = ClientHello::tls12(f.sni, &mut rng);
                t.segment(&c.client_data(&ch.record_bytes()));
                let cert = x509::Certificate::fixture(cn, san, &mut rng).to_der();
                ServerHello::tls12(&ch, &mut rng).flight_with_certificates(&[cert])
            }
        };
        t.segment(&c.server_data(&flight));
        close(&mut t, &mut c);
        t.wait(100 * MS);
    }
    t
}

// ---------------------------------------------------------------- hostile names

/// Start of `hostile-names.pcap`, 2024-01-01T02:00:00Z: two hours after the
/// other fixtures begin, an hour after `naming-disagreements.pcap`.
pub const HOSTILE_TS: u64 = BASE_TS + 2 * 3600 * SEC;
/// The phone in `hostile-names.pcap`.
pub const HOSTILE_CLIENT: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 66);
/// Its Wi-Fi router, which is also its resolver.
pub const HOSTILE_RESOLVER: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 1);

/// HTTP `Host` of the cleartext request that carries the IMEI: breaks out of
/// a double-quoted attribute and adds an element with an event handler.
pub const HOSTILE_HOST: &str =
    "\"><img src=x onerror=\"document.documentElement.dataset.pwned='host'\">.example";
/// `User-Agent` of that request: closes a script element and opens another.
pub const HOSTILE_USER_AGENT: &str =
    "</script><script>document.documentElement.dataset.pwned=\"ua\"</script>";
/// SNI that is a whole script element.
pub const HOSTILE_SNI_SCRIPT: &str =
    "<script>document.documentElement.dataset.pwned=\"sni\"</script>.evil.example";
/// SNI with a right-to-left override (U+202E): displayed unescaped it
/// reads `secureelpmaxe.live.paypal.com`.
pub const HOSTILE_SNI_RLO: &str = "secure\u{202e}moc.lapyap.evil.example";
/// SNI with both quote characters: breaks out of an attribute whichever
/// quote it uses.
pub const HOSTILE_SNI_QUOTES: &str =
    "q'\"><svg onload='document.documentElement.dataset.pwned=\"quote\"'>.example";
/// DNS names (questions answered with an address a connection then goes
/// to), each starting with a character spreadsheets run as a formula, then
/// one with a right-to-left override, with the address each resolves to.
pub const HOSTILE_DNS: [(&str, Ipv4Addr); 5] = [
    (
        "=HYPERLINK(\"http://x.example\",\"click\").example",
        Ipv4Addr::new(8, 8, 8, 61),
    ),
    ("+cmd.example", Ipv4Addr::new(8, 8, 8, 62)),
    ("@SUM(1+1).example", Ipv4Addr::new(8, 8, 8, 63)),
    ("-2+3.example", Ipv4Addr::new(8, 8, 8, 64)),
    ("evil\u{202e}moc.example", Ipv4Addr::new(8, 8, 8, 65)),
];

/// `hostile-names.pcap`: names an attacker controls, in every place a name
/// reaches the outputs. 32 packets, 10 ms apart:
///
/// - for each of [`HOSTILE_DNS`] (i = 0..5): a DNS A lookup from port
///   40700 + 2i (id 0x0700 + i) answered with its address, then a SYN from
///   port 40701 + 2i to that address, port 443, that nobody answers: 3
///   packets each, 15 in all;
/// - an HTTP/1.1 GET to `220.181.90.80:80` with `Host` [`HOSTILE_HOST`],
///   `User-Agent` [`HOSTILE_USER_AGENT`] and the RedMi's IMEI in the query
///   string: handshake, request, response (5 packets);
/// - three TLS 1.3 ClientHellos to `220.181.90.81`, `.82`, `.83` port 443
///   with SNI [`HOSTILE_SNI_SCRIPT`], [`HOSTILE_SNI_RLO`] and
///   [`HOSTILE_SNI_QUOTES`]: handshake and ClientHello (4 packets each).
fn hostile_trace() -> Trace {
    let mut rng = SplitMix64::new(0x0bad_5eed);
    let mut t = Trace::new(HOSTILE_TS, 10 * MS);
    let phone: IpAddr = HOSTILE_CLIENT.into();
    let resolver = sa(HOSTILE_RESOLVER, 53);

    for (i, (name, addr)) in (0u16..).zip(HOSTILE_DNS) {
        let (q, r) = dns_answer(0x0700 + i, name, addr.into());
        dns_udp(
            &mut t,
            sa(phone, 40700 + 2 * i),
            resolver,
            0x0700 + i,
            &q,
            &r,
        );
        let mut c = TcpConversation::new(
            sa(phone, 40701 + 2 * i),
            sa(addr, 443),
            0x0700_0000 + 0x0010_0000 * u32::from(i),
            0x4700_0000,
        );
        t.segment(&c.syn());
        t.wait(50 * MS);
    }

    let req = http::request(
        "GET",
        &format!("/collect?imei={}&v=1", redmi_imei()),
        HOSTILE_HOST,
        &[("User-Agent", HOSTILE_USER_AGENT), ("Accept", "*/*")],
        b"",
    );
    let mut c = TcpConversation::new(
        sa(phone, 40720),
        sa(Ipv4Addr::new(220, 181, 90, 80), 80),
        0x0720_0000,
        0x4720_0000,
    );
    t.segments(&c.handshake());
    t.segment(&c.client_data(&req));
    t.segment(&c.server_data(&http::ok_text("ok\n")));
    t.wait(50 * MS);

    for (i, (sni, last)) in (0u16..).zip([
        (HOSTILE_SNI_SCRIPT, 81),
        (HOSTILE_SNI_RLO, 82),
        (HOSTILE_SNI_QUOTES, 83),
    ]) {
        let ch = ClientHello::tls13(Some(sni), &mut rng);
        let mut c = TcpConversation::new(
            sa(phone, 40730 + i),
            sa(Ipv4Addr::new(220, 181, 90, last), 443),
            0x0730_0000 + 0x0010_0000 * u32::from(i),
            0x4730_0000 + 0x0010_0000 * u32::from(i),
        );
        t.segments(&c.handshake());
        t.segment(&c.client_data(&ch.record_bytes()));
        t.wait(50 * MS);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_small() {
        let all = all();
        let mut names: Vec<_> = all.iter().map(|f| f.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all.len());
        let total: usize = all.iter().map(|f| f.bytes.len()).sum();
        assert!(total < 200 * 1024, "fixtures total {total} bytes");
    }

    #[test]
    fn redmi_imei_is_luhn_valid() {
        let imei = redmi_imei();
        assert_eq!(imei.len(), 15);
        let (body, check) = imei.split_at(14);
        assert_eq!(crate::luhn_check_digit(body).to_string(), check);
    }

    #[test]
    fn naming_flows_carry_their_names() {
        use etherparse::{NetSlice, SlicedPacket, TransportSlice};
        use tls_parser::{
            TlsExtension, TlsMessage, TlsMessageHandshake, parse_tls_extensions,
            parse_tls_plaintext,
        };
        use x509_parser::prelude::{FromDer as _, GeneralName, X509Certificate};

        let t = naming_trace();
        assert_eq!(t.len(), 46);
        // (server address, from the client?, transport payload) per packet.
        let mut tcp = Vec::new();
        let mut answered = Vec::new();
        for p in &t.packets {
            let s = SlicedPacket::from_ip(&p.ip).expect("slices");
            let Some(NetSlice::Ipv4(ip)) = &s.net else {
                panic!("not IPv4")
            };
            let (src, dst) = (ip.header().source_addr(), ip.header().destination_addr());
            match &s.transport {
                Some(TransportSlice::Tcp(seg)) => {
                    let out = src == CLIENT_V4;
                    tcp.push((if out { dst } else { src }, out, seg.payload().to_vec()));
                }
                // A single A record ends the response: its last 4 bytes.
                Some(TransportSlice::Udp(u)) if src == RESOLVER_V4 => {
                    let d = u.payload();
                    answered.push(Ipv4Addr::new(
                        d[d.len() - 4],
                        d[d.len() - 3],
                        d[d.len() - 2],
                        d[d.len() - 1],
                    ));
                }
                Some(TransportSlice::Udp(_)) => {}
                other => panic!("unexpected transport {other:?}"),
            }
        }
        let resolved: Vec<_> = NAMING_FLOWS
            .iter()
            .filter(|f| f.dns.is_some())
            .map(|f| f.server)
            .collect();
        assert_eq!(answered, resolved);

        for f in NAMING_FLOWS {
            let stream = |from_client: bool| -> Vec<u8> {
                tcp.iter()
                    .filter(|(a, out, _)| *a == f.server && *out == from_client)
                    .flat_map(|(_, _, d)| d.clone())
                    .collect()
            };
            let (client, server) = (stream(true), stream(false));
            let (rest, plain) = parse_tls_plaintext(&client).expect("ClientHello parses");
            assert!(rest.is_empty());
            let TlsMessage::Handshake(TlsMessageHandshake::ClientHello(ch)) = &plain.msg[0] else {
                panic!("not a ClientHello")
            };
            let (_, exts) = parse_tls_extensions(ch.ext.unwrap()).unwrap();
            let sni = exts.iter().find_map(|e| match e {
                TlsExtension::SNI(l) => Some(std::str::from_utf8(l[0].1).unwrap()),
                _ => None,
            });
            assert_eq!(sni, f.sni, "{}", f.server);

            let (_, plain) = parse_tls_plaintext(&server).expect("server flight parses");
            let TlsMessage::Handshake(TlsMessageHandshake::ServerHello(sh)) = &plain.msg[0] else {
                panic!("not a ServerHello")
            };
            let (_, sh_exts) = parse_tls_extensions(sh.ext.unwrap()).unwrap();
            let says_tls13 = sh_exts
                .iter()
                .any(|e| matches!(e, TlsExtension::SupportedVersions(v) if v[0].0 == TLS13));
            match f.flight {
                NamingFlight::Tls13 => assert!(says_tls13),
                NamingFlight::Tls12 { cn, san } => {
                    assert!(!says_tls13);
                    let TlsMessage::Handshake(TlsMessageHandshake::Certificate(c)) = &plain.msg[1]
                    else {
                        panic!("no Certificate after the ServerHello")
                    };
                    assert_eq!(c.cert_chain.len(), 1);
                    let (rest, x) = X509Certificate::from_der(c.cert_chain[0].data).unwrap();
                    assert!(rest.is_empty());
                    let cns: Vec<_> = x
                        .subject()
                        .iter_common_name()
                        .map(|a| a.as_str().unwrap())
                        .collect();
                    assert_eq!(cns, [cn]);
                    let names: Vec<_> = x
                        .subject_alternative_name()
                        .unwrap()
                        .unwrap()
                        .value
                        .general_names
                        .iter()
                        .map(|g| match g {
                            GeneralName::DNSName(s) => *s,
                            other => panic!("unexpected {other:?}"),
                        })
                        .collect();
                    assert_eq!(names, san);
                    assert!(matches!(
                        plain.msg[2],
                        TlsMessage::Handshake(TlsMessageHandshake::ServerDone(_))
                    ));
                }
            }
        }
    }

    #[test]
    fn hostile_names_are_on_the_wire_as_given() {
        let t = hostile_trace();
        assert_eq!(t.len(), 32);
        let wire: Vec<u8> = t.packets.iter().flat_map(|p| p.ip.clone()).collect();
        let has = |needle: &[u8]| wire.windows(needle.len()).any(|w| w == needle);
        for s in [
            HOSTILE_HOST,
            HOSTILE_USER_AGENT,
            HOSTILE_SNI_SCRIPT,
            HOSTILE_SNI_RLO,
            HOSTILE_SNI_QUOTES,
        ] {
            assert!(has(s.as_bytes()), "{s:?} not on the wire");
        }
        assert!(has(format!("imei={}&", redmi_imei()).as_bytes()));
        // DNS names travel as labels: the first label of each is there.
        for (name, _) in HOSTILE_DNS {
            let first = name.split('.').next().unwrap().as_bytes();
            let mut label = vec![u8::try_from(first.len()).unwrap()];
            label.extend_from_slice(first);
            assert!(has(&label), "{name:?} not on the wire");
        }
    }

    #[test]
    fn generation_is_deterministic_on_disk() {
        let base =
            std::env::temp_dir().join(format!("telltale-fixtures-test-{}", std::process::id()));
        let (a, b) = (base.join("a"), base.join("b"));
        let wa = write_all(&a).unwrap();
        let wb = write_all(&b).unwrap();
        assert_eq!(wa, wb);
        for (name, _) in &wa {
            assert_eq!(
                fs::read(a.join(name)).unwrap(),
                fs::read(b.join(name)).unwrap(),
                "{name} differs"
            );
        }
        fs::remove_dir_all(&base).unwrap();
    }
}
