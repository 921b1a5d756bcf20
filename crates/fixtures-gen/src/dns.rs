//! DNS messages with name compression, for UDP and (length-prefixed) TCP.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Record type A.
pub const TYPE_A: u16 = 1;
/// Record type NS.
pub const TYPE_NS: u16 = 2;
/// Record type CNAME.
pub const TYPE_CNAME: u16 = 5;
/// Record type PTR.
pub const TYPE_PTR: u16 = 12;
/// Record type MX.
pub const TYPE_MX: u16 = 15;
/// Record type TXT.
pub const TYPE_TXT: u16 = 16;
/// Record type AAAA.
pub const TYPE_AAAA: u16 = 28;
/// Record type SRV.
pub const TYPE_SRV: u16 = 33;
/// Record type HTTPS.
pub const TYPE_HTTPS: u16 = 65;
/// Class IN.
pub const CLASS_IN: u16 = 1;

/// A question: name, type, class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    /// Domain name, dotted, without the trailing dot.
    pub name: String,
    /// Query type.
    pub qtype: u16,
    /// Query class.
    pub qclass: u16,
}

/// Record data for the types fixtures use; anything else goes in `Raw`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RData {
    /// IPv4 address.
    A(Ipv4Addr),
    /// IPv6 address.
    Aaaa(Ipv6Addr),
    /// Canonical name (compressed).
    Cname(String),
    /// Pointer name (compressed).
    Ptr(String),
    /// Name server (compressed).
    Ns(String),
    /// Mail exchanger: preference and name (compressed).
    Mx(u16, String),
    /// Character strings, each at most 255 bytes.
    Txt(Vec<String>),
    /// Uninterpreted record data for any other type.
    Raw(Vec<u8>),
}

impl RData {
    /// The record type this data belongs to (`Raw` has none and needs one).
    pub fn rtype(&self) -> Option<u16> {
        Some(match self {
            RData::A(_) => TYPE_A,
            RData::Aaaa(_) => TYPE_AAAA,
            RData::Cname(_) => TYPE_CNAME,
            RData::Ptr(_) => TYPE_PTR,
            RData::Ns(_) => TYPE_NS,
            RData::Mx(..) => TYPE_MX,
            RData::Txt(_) => TYPE_TXT,
            RData::Raw(_) => return None,
        })
    }
}

/// A resource record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Owner name.
    pub name: String,
    /// Record type.
    pub rtype: u16,
    /// Record class.
    pub class: u16,
    /// Time to live, seconds.
    pub ttl: u32,
    /// Record data.
    pub data: RData,
}

impl Record {
    /// A class IN record whose type follows from `data`.
    ///
    /// # Panics
    /// For `RData::Raw`, which needs [`Record::raw`].
    pub fn new(name: &str, ttl: u32, data: RData) -> Self {
        let rtype = data
            .rtype()
            .expect("use Record::raw for uninterpreted data");
        Record {
            name: name.to_owned(),
            rtype,
            class: CLASS_IN,
            ttl,
            data,
        }
    }

    /// A class IN record of any type with uninterpreted data.
    pub fn raw(name: &str, rtype: u16, ttl: u32, data: &[u8]) -> Self {
        Record {
            name: name.to_owned(),
            rtype,
            class: CLASS_IN,
            ttl,
            data: RData::Raw(data.to_vec()),
        }
    }
}

/// A DNS message.
///
/// ```
/// use telltale_fixtures::dns::{DnsMessage, RData, Record, TYPE_A};
/// let q = DnsMessage::query(0x1234, "example.com", TYPE_A);
/// let r = q.response().answer(Record::new("example.com", 60, RData::A([192, 0, 2, 1].into())));
/// assert_eq!(&r.to_bytes()[..2], &[0x12, 0x34]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsMessage {
    /// Transaction id.
    pub id: u16,
    /// The 16 flag bits (QR, opcode, AA, TC, RD, RA, Z, RCODE).
    pub flags: u16,
    /// Question section.
    pub questions: Vec<Question>,
    /// Answer section.
    pub answers: Vec<Record>,
    /// Authority section.
    pub authority: Vec<Record>,
    /// Additional section.
    pub additional: Vec<Record>,
}

/// Flag bit: this message is a response.
pub const FLAG_QR: u16 = 0x8000;
/// Flag bit: recursion desired.
pub const FLAG_RD: u16 = 0x0100;
/// Flag bit: recursion available.
pub const FLAG_RA: u16 = 0x0080;

impl DnsMessage {
    /// A recursive query with one class IN question.
    pub fn query(id: u16, name: &str, qtype: u16) -> Self {
        DnsMessage {
            id,
            flags: FLAG_RD,
            questions: vec![Question {
                name: name.to_owned(),
                qtype,
                qclass: CLASS_IN,
            }],
            answers: Vec::new(),
            authority: Vec::new(),
            additional: Vec::new(),
        }
    }

    /// An empty NOERROR response to this query: same id and questions.
    pub fn response(&self) -> Self {
        DnsMessage {
            id: self.id,
            flags: FLAG_QR | (self.flags & FLAG_RD) | FLAG_RA,
            questions: self.questions.clone(),
            answers: Vec::new(),
            authority: Vec::new(),
            additional: Vec::new(),
        }
    }

    /// Adds an answer record.
    pub fn answer(mut self, r: Record) -> Self {
        self.answers.push(r);
        self
    }

    /// Sets the response code (3 = NXDOMAIN).
    pub fn rcode(mut self, rcode: u8) -> Self {
        self.flags = (self.flags & !0x000f) | u16::from(rcode & 0x0f);
        self
    }

    /// The wire form, names compressed against every earlier name.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = NameWriter {
            out: Vec::with_capacity(512),
            seen: HashMap::new(),
        };
        w.out.extend_from_slice(&self.id.to_be_bytes());
        w.out.extend_from_slice(&self.flags.to_be_bytes());
        for n in [
            self.questions.len(),
            self.answers.len(),
            self.authority.len(),
            self.additional.len(),
        ] {
            w.out
                .extend_from_slice(&u16::try_from(n).expect("section too long").to_be_bytes());
        }
        for q in &self.questions {
            w.name(&q.name);
            w.out.extend_from_slice(&q.qtype.to_be_bytes());
            w.out.extend_from_slice(&q.qclass.to_be_bytes());
        }
        for r in self
            .answers
            .iter()
            .chain(&self.authority)
            .chain(&self.additional)
        {
            w.record(r);
        }
        w.out
    }

    /// The TCP form: a 2-byte length, then the message.
    pub fn to_tcp_bytes(&self) -> Vec<u8> {
        let m = self.to_bytes();
        let mut out = u16::try_from(m.len())
            .expect("message too long")
            .to_be_bytes()
            .to_vec();
        out.extend_from_slice(&m);
        out
    }
}

struct NameWriter {
    out: Vec<u8>,
    seen: HashMap<String, u16>,
}

impl NameWriter {
    fn name(&mut self, name: &str) {
        let name = name.trim_end_matches('.');
        let labels: Vec<&str> = if name.is_empty() {
            Vec::new()
        } else {
            name.split('.').collect()
        };
        for i in 0..labels.len() {
            let suffix = labels[i..].join(".").to_ascii_lowercase();
            if let Some(&ptr) = self.seen.get(&suffix) {
                self.out.extend_from_slice(&(0xc000 | ptr).to_be_bytes());
                return;
            }
            // Pointers have 14 bits, so later suffixes cannot point this far.
            if let Ok(off) = u16::try_from(self.out.len())
                && off < 0x4000
            {
                self.seen.insert(suffix, off);
            }
            let l = labels[i].as_bytes();
            assert!(!l.is_empty() && l.len() < 64, "bad DNS label in {name:?}");
            self.out.push(u8::try_from(l.len()).expect("checked"));
            self.out.extend_from_slice(l);
        }
        self.out.push(0);
    }

    fn record(&mut self, r: &Record) {
        self.name(&r.name);
        self.out.extend_from_slice(&r.rtype.to_be_bytes());
        self.out.extend_from_slice(&r.class.to_be_bytes());
        self.out.extend_from_slice(&r.ttl.to_be_bytes());
        let len_at = self.out.len();
        self.out.extend_from_slice(&[0, 0]);
        match &r.data {
            RData::A(a) => self.out.extend_from_slice(&a.octets()),
            RData::Aaaa(a) => self.out.extend_from_slice(&a.octets()),
            RData::Cname(n) | RData::Ptr(n) | RData::Ns(n) => self.name(n),
            RData::Mx(pref, n) => {
                self.out.extend_from_slice(&pref.to_be_bytes());
                self.name(n);
            }
            RData::Txt(strings) => {
                for s in strings {
                    let b = s.as_bytes();
                    self.out
                        .push(u8::try_from(b.len()).expect("TXT string over 255 bytes"));
                    self.out.extend_from_slice(b);
                }
            }
            RData::Raw(b) => self.out.extend_from_slice(b),
        }
        let len = u16::try_from(self.out.len() - len_at - 2).expect("rdata too long");
        self.out[len_at..len_at + 2].copy_from_slice(&len.to_be_bytes());
    }
}

/// The reverse-lookup name of an IPv4 address (`d.c.b.a.in-addr.arpa`).
pub fn reverse_name_v4(a: Ipv4Addr) -> String {
    let o = a.octets();
    format!("{}.{}.{}.{}.in-addr.arpa", o[3], o[2], o[1], o[0])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_is_byte_exact() {
        let q = DnsMessage::query(0xbeef, "a.example", TYPE_A);
        assert_eq!(
            q.to_bytes(),
            vec![
                0xbe, 0xef, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 1, b'a', 7, b'e', b'x', b'a', b'm',
                b'p', b'l', b'e', 0, 0, 1, 0, 1
            ]
        );
    }

    #[test]
    fn compression_points_back_to_question_and_cname_target() {
        let q = DnsMessage::query(1, "api.example.com", TYPE_A);
        let r = q
            .response()
            .answer(Record::new(
                "api.example.com",
                60,
                RData::Cname("edge.cdn.example.com".into()),
            ))
            .answer(Record::new(
                "edge.cdn.example.com",
                60,
                RData::A(Ipv4Addr::new(192, 0, 2, 7)),
            ));
        let b = r.to_bytes();
        // Answer 1 owner: pointer to the question name at offset 12.
        let q_end = 12 + 17 + 4;
        assert_eq!(&b[q_end..q_end + 2], &[0xc0, 12]);
        // CNAME target: "edge", "cdn", then a pointer to "example.com" (offset 16).
        let rdata = q_end + 12;
        assert_eq!(
            &b[rdata..rdata + 9],
            &[4, b'e', b'd', b'g', b'e', 3, b'c', b'd', b'n']
        );
        assert_eq!(&b[rdata + 9..rdata + 11], &[0xc0, 16]);
        // Answer 2 owner: pointer to the CNAME target.
        assert_eq!(&b[rdata + 11..rdata + 13], &[0xc0, rdata as u8]);
        assert_eq!(&b[b.len() - 4..], &[192, 0, 2, 7]);
        assert_eq!(&b[6..8], &[0, 2]);
    }

    #[test]
    fn tcp_form_has_length_prefix_and_txt_and_raw_encode() {
        let q = DnsMessage::query(2, "t.example", TYPE_TXT);
        let r = q
            .response()
            .answer(Record::new(
                "t.example",
                1,
                RData::Txt(vec!["hi".into(), "there".into()]),
            ))
            .answer(Record::raw("t.example", TYPE_HTTPS, 1, &[0, 1, 0]));
        let t = r.to_tcp_bytes();
        assert_eq!(u16::from_be_bytes([t[0], t[1]]) as usize, t.len() - 2);
        let b = &t[2..];
        assert!(
            b.windows(9)
                .any(|w| w == [2, b'h', b'i', 5, b't', b'h', b'e', b'r', b'e'])
        );
        assert_eq!(&b[b.len() - 5..], &[0, 3, 0, 1, 0]);
    }

    #[test]
    fn reverse_names() {
        assert_eq!(
            reverse_name_v4(Ipv4Addr::new(192, 0, 2, 1)),
            "1.2.0.192.in-addr.arpa"
        );
    }
}
