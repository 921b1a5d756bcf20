//! NSS key log files: the TLS secrets a client wrote out (`SSLKEYLOGFILE`,
//! an app's own key log, or a pcapng Decryption Secrets Block).
//!
//! [`KeyLog`] holds the secrets by ClientHello random; [`ConnectionSecrets`]
//! are those of one connection. Only the labels decryption needs are kept:
//! `CLIENT_RANDOM` (TLS ≤ 1.2 master secret) and the TLS 1.3 traffic secrets
//! (`CLIENT_EARLY_TRAFFIC_SECRET`, `CLIENT_HANDSHAKE_TRAFFIC_SECRET`,
//! `SERVER_HANDSHAKE_TRAFFIC_SECRET`, `CLIENT_TRAFFIC_SECRET_0`,
//! `SERVER_TRAFFIC_SECRET_0`). Comments, blank lines and other labels
//! (`EXPORTER_SECRET`, `RSA`, …) are skipped and counted.
//!
//! ```
//! use telltale_proto::keylog::KeyLog;
//! let text = format!("# a comment\nCLIENT_RANDOM {} {}\n", "ab".repeat(32), "cd".repeat(48));
//! let log = KeyLog::parse(text.as_bytes());
//! let secrets = log.get(&[0xab; 32]).unwrap();
//! assert_eq!(secrets.master_secret, Some([0xcd; 48]));
//! assert_eq!(log.stats().ignored, 1);
//! ```

use std::collections::HashMap;
use std::fmt;

use telltale_decode::CaptureSecrets;

/// Most lines one [`KeyLog::parse`] or [`KeyLog::add`] call reads; the rest
/// of the text is left out and [`KeyLogStats::truncated`] set. A real key
/// log has a handful of lines per connection, so this is far beyond any
/// capture's needs while keeping hostile input bounded.
pub const MAX_LINES: usize = 1_000_000;

/// Most connections (distinct client randoms) a [`KeyLog`] holds; secrets
/// for further connections are dropped and counted.
pub const MAX_ENTRIES: usize = 1_000_000;

/// Longest TLS 1.3 secret accepted: the output of the largest hash a TLS
/// 1.3 cipher suite uses is 48 bytes (SHA-384); 64 leaves room for others.
const MAX_SECRET_LEN: usize = 64;

/// The secrets logged for one connection, each `None` when the key log did
/// not have it.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ConnectionSecrets {
    /// TLS ≤ 1.2 master secret (`CLIENT_RANDOM`).
    pub master_secret: Option<[u8; 48]>,
    /// TLS 1.3 client early (0-RTT) traffic secret.
    pub client_early_traffic_secret: Option<Vec<u8>>,
    /// TLS 1.3 client handshake traffic secret.
    pub client_handshake_traffic_secret: Option<Vec<u8>>,
    /// TLS 1.3 server handshake traffic secret.
    pub server_handshake_traffic_secret: Option<Vec<u8>>,
    /// TLS 1.3 first client application traffic secret.
    pub client_traffic_secret_0: Option<Vec<u8>>,
    /// TLS 1.3 first server application traffic secret.
    pub server_traffic_secret_0: Option<Vec<u8>>,
}

impl ConnectionSecrets {
    /// Takes every secret `other` has, replacing ours (the later log wins).
    fn absorb(&mut self, other: ConnectionSecrets) {
        fn take<T>(mine: &mut Option<T>, theirs: Option<T>) {
            if theirs.is_some() {
                *mine = theirs;
            }
        }
        take(&mut self.master_secret, other.master_secret);
        take(
            &mut self.client_early_traffic_secret,
            other.client_early_traffic_secret,
        );
        take(
            &mut self.client_handshake_traffic_secret,
            other.client_handshake_traffic_secret,
        );
        take(
            &mut self.server_handshake_traffic_secret,
            other.server_handshake_traffic_secret,
        );
        take(
            &mut self.client_traffic_secret_0,
            other.client_traffic_secret_0,
        );
        take(
            &mut self.server_traffic_secret_0,
            other.server_traffic_secret_0,
        );
    }
}

impl fmt::Debug for ConnectionSecrets {
    // Secrets stay out of logs and panic messages: only which ones are known.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionSecrets")
            .field("master_secret", &self.master_secret.is_some())
            .field(
                "client_early_traffic_secret",
                &self.client_early_traffic_secret.is_some(),
            )
            .field(
                "client_handshake_traffic_secret",
                &self.client_handshake_traffic_secret.is_some(),
            )
            .field(
                "server_handshake_traffic_secret",
                &self.server_handshake_traffic_secret.is_some(),
            )
            .field(
                "client_traffic_secret_0",
                &self.client_traffic_secret_0.is_some(),
            )
            .field(
                "server_traffic_secret_0",
                &self.server_traffic_secret_0.is_some(),
            )
            .finish()
    }
}

/// What parsing key log text found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeyLogStats {
    /// Lines read (blank lines and comments included).
    pub lines: u64,
    /// Secrets taken.
    pub secrets: u64,
    /// Comments, blank lines and lines with a label decryption does not use.
    pub ignored: u64,
    /// Lines with a known label whose fields are not well-formed hex of the
    /// right length.
    pub malformed: u64,
    /// Secrets dropped because [`MAX_ENTRIES`] connections were already held.
    pub dropped: u64,
    /// Some text was left unread because [`MAX_LINES`] was reached.
    pub truncated: bool,
}

impl KeyLogStats {
    fn add(&mut self, other: &KeyLogStats) {
        self.lines += other.lines;
        self.secrets += other.secrets;
        self.ignored += other.ignored;
        self.malformed += other.malformed;
        self.dropped += other.dropped;
        self.truncated |= other.truncated;
    }
}

/// TLS secrets by ClientHello random, from one or more NSS key logs.
#[derive(Clone, Default)]
pub struct KeyLog {
    entries: HashMap<[u8; 32], ConnectionSecrets>,
    stats: KeyLogStats,
}

impl fmt::Debug for KeyLog {
    // Secrets stay out of logs: the size and counters say enough.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyLog")
            .field("connections", &self.entries.len())
            .field("stats", &self.stats)
            .finish()
    }
}

/// Which secret a line carries.
#[derive(Clone, Copy)]
enum Label {
    Master,
    ClientEarly,
    ClientHandshake,
    ServerHandshake,
    ClientTraffic0,
    ServerTraffic0,
}

impl Label {
    fn from_bytes(b: &[u8]) -> Option<Label> {
        Some(match b {
            b"CLIENT_RANDOM" => Label::Master,
            b"CLIENT_EARLY_TRAFFIC_SECRET" => Label::ClientEarly,
            b"CLIENT_HANDSHAKE_TRAFFIC_SECRET" => Label::ClientHandshake,
            b"SERVER_HANDSHAKE_TRAFFIC_SECRET" => Label::ServerHandshake,
            b"CLIENT_TRAFFIC_SECRET_0" => Label::ClientTraffic0,
            b"SERVER_TRAFFIC_SECRET_0" => Label::ServerTraffic0,
            _ => return None,
        })
    }
}

impl KeyLog {
    /// An empty key log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses NSS key log text. Never fails: lines it cannot use are
    /// counted in [`stats`](Self::stats).
    pub fn parse(text: &[u8]) -> Self {
        let mut log = Self::new();
        log.add(text);
        log
    }

    /// Parses more key log text into this one; a secret logged again
    /// replaces the earlier one.
    pub fn add(&mut self, text: &[u8]) {
        let mut stats = KeyLogStats::default();
        if text.is_empty() {
            return;
        }
        // A final newline ends the last line; it does not start another.
        let body = text.strip_suffix(b"\n").unwrap_or(text);
        for (n, line) in body.split(|&b| b == b'\n').enumerate() {
            if n >= MAX_LINES {
                stats.truncated = true;
                break;
            }
            stats.lines += 1;
            self.add_line(line, &mut stats);
        }
        self.stats.add(&stats);
    }

    fn add_line(&mut self, line: &[u8], stats: &mut KeyLogStats) {
        let line = line.trim_ascii();
        if line.is_empty() || line.starts_with(b"#") {
            stats.ignored += 1;
            return;
        }
        let mut fields = line
            .split(|b| b.is_ascii_whitespace())
            .filter(|f| !f.is_empty());
        let Some(label) = fields.next().and_then(Label::from_bytes) else {
            stats.ignored += 1;
            return;
        };
        let (Some(random), Some(secret), None) = (fields.next(), fields.next(), fields.next())
        else {
            stats.malformed += 1;
            return;
        };
        let (Some(random), Some(secret)) = (hex(random), hex(secret)) else {
            stats.malformed += 1;
            return;
        };
        let Ok(random) = <[u8; 32]>::try_from(random.as_slice()) else {
            stats.malformed += 1;
            return;
        };
        let mut entry = ConnectionSecrets::default();
        match label {
            Label::Master => match <[u8; 48]>::try_from(secret.as_slice()) {
                Ok(m) => entry.master_secret = Some(m),
                Err(_) => {
                    stats.malformed += 1;
                    return;
                }
            },
            _ if secret.is_empty() || secret.len() > MAX_SECRET_LEN => {
                stats.malformed += 1;
                return;
            }
            Label::ClientEarly => entry.client_early_traffic_secret = Some(secret),
            Label::ClientHandshake => entry.client_handshake_traffic_secret = Some(secret),
            Label::ServerHandshake => entry.server_handshake_traffic_secret = Some(secret),
            Label::ClientTraffic0 => entry.client_traffic_secret_0 = Some(secret),
            Label::ServerTraffic0 => entry.server_traffic_secret_0 = Some(secret),
        }
        if self.insert(random, entry) {
            stats.secrets += 1;
        } else {
            stats.dropped += 1;
        }
    }

    /// Adds `secrets` under `random`; false when the cap keeps it out.
    fn insert(&mut self, random: [u8; 32], secrets: ConnectionSecrets) -> bool {
        if let Some(e) = self.entries.get_mut(&random) {
            e.absorb(secrets);
            return true;
        }
        if self.entries.len() >= MAX_ENTRIES {
            return false;
        }
        self.entries.insert(random, secrets);
        true
    }

    /// The key logs a capture carried in pcapng Decryption Secrets Blocks
    /// (those of type [`CaptureSecrets::TLS_KEY_LOG`]; others are skipped).
    pub fn from_capture_secrets(secrets: &[CaptureSecrets]) -> Self {
        let mut log = Self::new();
        for s in secrets
            .iter()
            .filter(|s| s.kind == CaptureSecrets::TLS_KEY_LOG)
        {
            log.add(&s.data);
        }
        log
    }

    /// Merges `other` into this key log (its secrets win where both have
    /// one; counters add up).
    pub fn merge(&mut self, other: KeyLog) {
        self.stats.add(&other.stats);
        for (random, secrets) in other.entries {
            if !self.insert(random, secrets) {
                self.stats.dropped += 1;
            }
        }
    }

    /// The secrets of the connection whose ClientHello carried `client_random`.
    pub fn get(&self, client_random: &[u8; 32]) -> Option<&ConnectionSecrets> {
        self.entries.get(client_random)
    }

    /// Number of connections with at least one secret.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no secret is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// What parsing found, over every text added or merged.
    pub fn stats(&self) -> KeyLogStats {
        self.stats
    }
}

/// Decodes hex (either case); `None` on an odd length or a non-hex digit.
/// Long fields are rejected before allocating: no secret is that long.
fn hex(s: &[u8]) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || s.len() > 2 * MAX_SECRET_LEN {
        return None;
    }
    fn nibble(b: u8) -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        }
    }
    s.chunks_exact(2)
        .map(|p| Some(nibble(*p.first()?)? << 4 | nibble(*p.get(1)?)?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(label: &str, random: u8, secret: &str) -> String {
        format!("{label} {} {secret}\n", format!("{random:02x}").repeat(32))
    }

    #[test]
    fn parses_every_label_and_skips_the_rest() {
        let mut text = String::from("# SSL/TLS secrets log file\n\n");
        text += &line("CLIENT_RANDOM", 1, &"AB".repeat(48));
        text += &line("CLIENT_HANDSHAKE_TRAFFIC_SECRET", 2, &"11".repeat(32));
        text += &line("SERVER_HANDSHAKE_TRAFFIC_SECRET", 2, &"22".repeat(32));
        text += &line("CLIENT_TRAFFIC_SECRET_0", 2, &"33".repeat(48));
        text += &line("SERVER_TRAFFIC_SECRET_0", 2, &"44".repeat(48));
        text += &line("CLIENT_EARLY_TRAFFIC_SECRET", 2, &"55".repeat(32));
        text += &line("EXPORTER_SECRET", 2, &"66".repeat(32));
        text += "RSA 0102030405060708 0a0b\r\n";
        let log = KeyLog::parse(text.as_bytes());
        assert_eq!(log.len(), 2);
        assert_eq!(log.get(&[1; 32]).unwrap().master_secret, Some([0xab; 48]));
        let s = log.get(&[2; 32]).unwrap();
        assert_eq!(s.client_handshake_traffic_secret, Some(vec![0x11; 32]));
        assert_eq!(s.server_handshake_traffic_secret, Some(vec![0x22; 32]));
        assert_eq!(s.client_traffic_secret_0, Some(vec![0x33; 48]));
        assert_eq!(s.server_traffic_secret_0, Some(vec![0x44; 48]));
        assert_eq!(s.client_early_traffic_secret, Some(vec![0x55; 32]));
        assert_eq!(s.master_secret, None);
        let st = log.stats();
        assert_eq!(st.lines, 10);
        assert_eq!(st.secrets, 6);
        assert_eq!(st.ignored, 4);
        assert_eq!(st.malformed, 0);
        assert!(!st.truncated);
        // Debug never shows the secrets.
        assert!(!format!("{s:?}{log:?}").contains("33"));
    }

    #[test]
    fn malformed_lines_are_counted() {
        let mut text = String::new();
        text += &line("CLIENT_RANDOM", 1, &"ab".repeat(47)); // short master secret
        text += "CLIENT_RANDOM abcd 00\n"; // short random
        text += &line("CLIENT_RANDOM", 1, &"zz".repeat(48)); // not hex
        text += &line("CLIENT_TRAFFIC_SECRET_0", 1, "abc"); // odd length
        text += &line("CLIENT_TRAFFIC_SECRET_0", 1, &"ab".repeat(65)); // too long
        text += "CLIENT_RANDOM\n";
        text += &format!(
            "CLIENT_RANDOM {} {} extra\n",
            "00".repeat(32),
            "00".repeat(48)
        );
        let log = KeyLog::parse(text.as_bytes());
        assert!(log.is_empty());
        assert_eq!(log.stats().malformed, 7);
    }

    #[test]
    fn merge_and_later_lines_win() {
        let mut a = KeyLog::parse(line("CLIENT_TRAFFIC_SECRET_0", 7, &"01".repeat(32)).as_bytes());
        let b = KeyLog::parse(
            (line("CLIENT_TRAFFIC_SECRET_0", 7, &"02".repeat(32))
                + &line("SERVER_TRAFFIC_SECRET_0", 7, &"03".repeat(32)))
                .as_bytes(),
        );
        a.merge(b);
        let s = a.get(&[7; 32]).unwrap();
        assert_eq!(s.client_traffic_secret_0, Some(vec![2; 32]));
        assert_eq!(s.server_traffic_secret_0, Some(vec![3; 32]));
        assert_eq!(a.stats().secrets, 3);
        assert_eq!(a.len(), 1);
    }

    #[test]
    fn capture_secrets_of_other_kinds_are_skipped() {
        let tls = CaptureSecrets {
            kind: CaptureSecrets::TLS_KEY_LOG,
            data: line("CLIENT_RANDOM", 9, &"aa".repeat(48)).into_bytes(),
        };
        let other = CaptureSecrets {
            kind: 0x5353_4820, // SSH
            data: line("CLIENT_RANDOM", 8, &"aa".repeat(48)).into_bytes(),
        };
        let log = KeyLog::from_capture_secrets(&[tls, other]);
        assert_eq!(log.len(), 1);
        assert!(log.get(&[9; 32]).is_some());
    }

    #[test]
    fn garbage_never_panics() {
        let mut seed = 0x1234_5678_u32;
        for len in 0..400 {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                    // Mostly key-log-like characters so some lines get far.
                    b"CLIENT_RANDOM 0123456789abcdef \n\r#\xff"[(seed >> 16) as usize % 35]
                })
                .collect();
            let _ = KeyLog::parse(&bytes);
        }
        let _ = KeyLog::parse(b"\n\n\n");
        assert!(KeyLog::parse(b"").is_empty());
    }
}
