//! Addresses as text without `core::fmt`: every EVE record names two, and
//! `Display` for an IPv6 address cost ~2,700 instructions (callgrind), a
//! tenth of writing a record.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Longest text written: eight full groups (39 bytes); a mapped IPv4
/// address, `::ffff:255.255.255.255`, is 22.
const MAX: usize = 39;

/// An address's text, exactly as `Display` writes it (RFC 5952 for IPv6:
/// lower-case hex, the longest run of two or more zero groups, the first
/// of equal runs, as `::`; IPv4-mapped addresses as `::ffff:a.b.c.d`).
pub(crate) struct IpText {
    buf: [u8; MAX],
    len: usize,
}

impl IpText {
    pub(crate) fn new(ip: IpAddr) -> IpText {
        let mut t = IpText {
            buf: [0; MAX],
            len: 0,
        };
        match ip {
            IpAddr::V4(a) => t.v4(a),
            IpAddr::V6(a) => t.v6(a),
        }
        t
    }

    pub(crate) fn as_str(&self) -> &str {
        // Only ASCII digits, hex letters, '.' and ':' are ever written.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or_default()
    }

    fn push(&mut self, b: u8) {
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        }
    }

    fn decimal(&mut self, n: u8) {
        if n >= 100 {
            self.push(b'0' + n / 100);
        }
        if n >= 10 {
            self.push(b'0' + n / 10 % 10);
        }
        self.push(b'0' + n % 10);
    }

    fn hex(&mut self, n: u16) {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut started = false;
        for shift in [12, 8, 4, 0] {
            let d = (n >> shift) & 0xf;
            if d != 0 || started || shift == 0 {
                self.push(DIGITS[usize::from(d)]);
                started = true;
            }
        }
    }

    fn v4(&mut self, a: Ipv4Addr) {
        for (i, o) in a.octets().into_iter().enumerate() {
            if i > 0 {
                self.push(b'.');
            }
            self.decimal(o);
        }
    }

    fn v6(&mut self, a: Ipv6Addr) {
        if let Some(v4) = a.to_ipv4_mapped() {
            for &b in b"::ffff:" {
                self.push(b);
            }
            return self.v4(v4);
        }
        let g = a.segments();
        // The longest run of zero groups; the first one on a tie.
        let (mut best, mut best_len, mut cur, mut cur_len) = (0, 0, 0, 0);
        for (i, &s) in g.iter().enumerate() {
            if s == 0 {
                if cur_len == 0 {
                    cur = i;
                }
                cur_len += 1;
                if cur_len > best_len {
                    (best, best_len) = (cur, cur_len);
                }
            } else {
                cur_len = 0;
            }
        }
        let groups = |t: &mut IpText, part: &[u16]| {
            for (i, &s) in part.iter().enumerate() {
                if i > 0 {
                    t.push(b':');
                }
                t.hex(s);
            }
        };
        if best_len > 1 {
            groups(self, &g[..best]);
            self.push(b':');
            self.push(b':');
            groups(self, &g[best + best_len..]);
        } else {
            groups(self, &g);
        }
    }
}

/// For `#[serde(serialize_with)]` on address fields.
pub(crate) fn serialize<S: serde::Serializer>(ip: &IpAddr, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(IpText::new(*ip).as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn same(ip: IpAddr) {
        assert_eq!(IpText::new(ip).as_str(), ip.to_string(), "{ip:?}");
    }

    #[test]
    fn edges() {
        for s in [
            "0.0.0.0",
            "255.255.255.255",
            "10.0.100.9",
            "::",
            "::1",
            "1::",
            "2001:db8::1",
            "2001:db8:0:0:1:0:0:1",
            "2001:0:0:1:0:0:0:1",
            "0:0:1:0:0:1:0:0",
            "1:0:1:0:1:0:1:0",
            "::ffff:192.0.2.1",
            "::192.0.2.1",
            "64:ff9b::192.0.2.1",
            "fe80::abcd:ef01:2345:6789",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        ] {
            same(s.parse().unwrap());
        }
    }

    proptest! {
        #[test]
        fn as_display_v4(b in any::<[u8; 4]>()) {
            same(IpAddr::from(b));
        }

        /// Groups drawn mostly from 0 so that zero runs of every length
        /// and position (and mapped addresses) come up.
        #[test]
        fn as_display_v6(g in proptest::array::uniform8(prop_oneof![
            4 => Just(0u16), 1 => Just(0xffff), 1 => any::<u16>(), 1 => 0u16..16
        ])) {
            same(IpAddr::from(g));
        }
    }
}
