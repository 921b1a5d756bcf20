//! Writing MaxMind DB (`.mmdb`) files: small databases for tests,
//! fixtures and a lab's own address plan.
//!
//! [`MmdbWriter`] collects networks with a [`Value`] each and writes them in
//! the [MaxMind DB format, version 2.0](https://maxmind.github.io/MaxMind-DB/),
//! which every MaxMind reader (and [`MmdbDb`](crate::MmdbDb)) can read:
//!
//! - a binary search tree with 24-, 28- or 32-bit records (the smallest that
//!   fits, unless [`MmdbWriter::record_size`] asks for a larger one);
//! - IPv4 networks of an IPv6 database under `::/96` (so `a.b.c.d/n` is
//!   `::a.b.c.d/(96+n)`), with `::ffff:0:0/96` (IPv4-mapped addresses)
//!   aliased to that same IPv4 subtree, as MaxMind's own databases do;
//! - a data section in which identical records are written once, and
//!   repeated strings, maps and arrays inside records become pointers;
//! - the metadata map (`node_count`, `record_size`, `ip_version`,
//!   `database_type`, `languages`, `binary_format_major_version` 2,
//!   `binary_format_minor_version` 0, `build_epoch`, `description`).
//!
//! Output is deterministic: the same inserts in the same order give the same
//! bytes.
//!
//! ```
//! use telltale_geo::writer::{IpVersion, MmdbWriter, Value};
//!
//! let mut w = MmdbWriter::new("Lab-Plan-Country", IpVersion::V6)
//!     .build_epoch(1_781_654_400)
//!     .description("en", "Our lab's address plan");
//! let de = Value::map([("country", Value::map([("iso_code", "DE")]))]);
//! w.insert("192.0.2.0".parse().unwrap(), 24, de).unwrap();
//! w.insert_cidr("2001:db8::/32", Value::map([("country_code", "NL")])).unwrap();
//! let bytes = w.to_bytes();
//! assert!(bytes.len() > 100);
//! ```

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv6Addr};
use std::path::{Path, PathBuf};

/// One value of the data section: what a network maps to.
///
/// Records of MaxMind-style databases are [`Value::Map`]s whose keys and
/// nesting follow the database's schema (e.g. GeoLite2-City's
/// `{"country": {"iso_code": "DE", "names": {"en": "Germany"}}, ...}`).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// A UTF-8 string.
    String(String),
    /// An IEEE 754 double.
    Double(f64),
    /// An IEEE 754 single-precision float.
    Float(f32),
    /// An unsigned 16-bit integer.
    U16(u16),
    /// An unsigned 32-bit integer.
    U32(u32),
    /// An unsigned 64-bit integer.
    U64(u64),
    /// An unsigned 128-bit integer.
    U128(u128),
    /// A signed 32-bit integer.
    I32(i32),
    /// A boolean.
    Bool(bool),
    /// Raw bytes.
    Bytes(Vec<u8>),
    /// A map from string keys to values, written in the order given.
    Map(Vec<(String, Value)>),
    /// An array of values.
    Array(Vec<Value>),
}

impl Value {
    /// A map from `(key, value)` pairs, kept in the order given.
    ///
    /// ```
    /// use telltale_geo::writer::Value;
    /// let v = Value::map([("iso_code", "DE"), ("name", "Germany")]);
    /// assert!(matches!(v, Value::Map(ref m) if m.len() == 2));
    /// ```
    pub fn map<K, V>(pairs: impl IntoIterator<Item = (K, V)>) -> Value
    where
        K: Into<String>,
        V: Into<Value>,
    {
        Value::Map(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }

    /// An array of values.
    ///
    /// ```
    /// use telltale_geo::writer::Value;
    /// assert_eq!(Value::array(["en", "de"]), Value::Array(vec!["en".into(), "de".into()]));
    /// ```
    pub fn array<V: Into<Value>>(items: impl IntoIterator<Item = V>) -> Value {
        Value::Array(items.into_iter().map(Into::into).collect())
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::String(v.to_owned())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::String(v)
    }
}

impl From<&String> for Value {
    fn from(v: &String) -> Value {
        Value::String(v.clone())
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Value {
        Value::Double(v)
    }
}

impl From<f32> for Value {
    fn from(v: f32) -> Value {
        Value::Float(v)
    }
}

impl From<u16> for Value {
    fn from(v: u16) -> Value {
        Value::U16(v)
    }
}

impl From<u32> for Value {
    fn from(v: u32) -> Value {
        Value::U32(v)
    }
}

impl From<u64> for Value {
    fn from(v: u64) -> Value {
        Value::U64(v)
    }
}

impl From<u128> for Value {
    fn from(v: u128) -> Value {
        Value::U128(v)
    }
}

impl From<i32> for Value {
    fn from(v: i32) -> Value {
        Value::I32(v)
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Value {
        Value::Bool(v)
    }
}

impl From<Vec<Value>> for Value {
    fn from(v: Vec<Value>) -> Value {
        Value::Array(v)
    }
}

impl From<Vec<(String, Value)>> for Value {
    fn from(v: Vec<(String, Value)>) -> Value {
        Value::Map(v)
    }
}

/// Which addresses a database holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IpVersion {
    /// IPv4 only: a 32-level tree; IPv6 inserts are refused.
    V4,
    /// IPv6, and IPv4 under `::/96` (aliased at `::ffff:0:0/96`).
    V6,
}

/// Why a network or a setting was refused, or a file not written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// An IPv6 network was inserted into an IPv4-only database.
    #[error("{0} is an IPv6 address, and the database is IPv4-only")]
    Ipv6InIpv4Database(Ipv6Addr),
    /// The prefix length is longer than the address.
    #[error("prefix length /{prefix_len} is longer than the {max} bits of the address")]
    PrefixTooLong {
        /// The prefix length asked for.
        prefix_len: u8,
        /// The address's length in bits (32 or 128).
        max: u8,
    },
    /// A record size other than 24, 28 or 32 bits.
    #[error("record size must be 24, 28 or 32 bits, not {0}")]
    RecordSize(u16),
    /// A string, byte string, map or array is too long for the format
    /// (more than 16,843,036 bytes or entries).
    #[error("{0} is too long for the MaxMind DB format")]
    ValueTooLarge(String),
    /// A network in `address/prefix` notation could not be parsed.
    #[error("not a network in address/prefix notation: {0:?}")]
    BadNetwork(String),
    /// The file could not be written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
}

/// Builds a MaxMind DB file in memory.
///
/// Networks may be inserted in any order. A more specific network inserted
/// inside a broader one that is already there takes its part of it, and the
/// broader network's record stays on the rest (the record is pushed down to
/// the sibling branches). A broader network inserted over more specific
/// ones already there **replaces them all**: the last insert covering an
/// address wins.
///
/// ```
/// use telltale_geo::writer::{IpVersion, MmdbWriter, Value};
///
/// let mut w = MmdbWriter::new("Lab-Plan-ASN", IpVersion::V4).build_epoch(1_781_654_400);
/// w.insert_cidr("10.0.0.0/8", Value::map([("autonomous_system_number", Value::U32(64500))]))
///     .unwrap();
/// w.insert_cidr("10.1.0.0/16", Value::map([("autonomous_system_number", Value::U32(64501))]))
///     .unwrap();
/// let path = std::env::temp_dir().join(format!("telltale-writer-doc-{}.mmdb", std::process::id()));
/// w.write(&path).unwrap();
/// # std::fs::remove_file(&path).unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct MmdbWriter {
    database_type: String,
    ip_version: IpVersion,
    build_epoch: u64,
    description: BTreeMap<String, String>,
    languages: Vec<String>,
    record_size: Option<u16>,
    /// The tree as an arena; node 0 is the root.
    nodes: Vec<[Slot; 2]>,
    /// Distinct records, in first-insert order.
    values: Vec<Value>,
    /// Canonical encoding of each record → its index in `values`.
    value_index: HashMap<Vec<u8>, u32>,
}

/// One record of a tree node, while building.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    Empty,
    Data(u32),
    Node(u32),
}

/// The gap between the search tree and the data section.
const SEPARATOR: usize = 16;
const METADATA_MARKER: &[u8] = b"\xAB\xCD\xEFMaxMind.com";

impl MmdbWriter {
    /// An empty database. `database_type` is what readers (and
    /// [`MmdbDb`](crate::MmdbDb)) choose the schema by, e.g.
    /// `GeoLite2-City`, `DBIP-ASN-Lite`, `ipinfo lite`, `country ipv4`.
    ///
    /// The build epoch defaults to 0 (1970-01-01) so that output is
    /// reproducible: set it with [`build_epoch`](Self::build_epoch).
    pub fn new(database_type: &str, ip_version: IpVersion) -> MmdbWriter {
        MmdbWriter {
            database_type: database_type.to_owned(),
            ip_version,
            build_epoch: 0,
            description: BTreeMap::new(),
            languages: Vec::new(),
            record_size: None,
            nodes: vec![[Slot::Empty; 2]],
            values: Vec::new(),
            value_index: HashMap::new(),
        }
    }

    /// Sets the build time, in seconds since the Unix epoch.
    pub fn build_epoch(mut self, epoch: u64) -> MmdbWriter {
        self.build_epoch = epoch;
        self
    }

    /// Adds (or replaces) the description in language `lang` (e.g. `en`).
    pub fn description(mut self, lang: &str, text: &str) -> MmdbWriter {
        self.description.insert(lang.to_owned(), text.to_owned());
        self
    }

    /// Sets the locale codes the records' `names` maps may hold.
    pub fn languages<S: Into<String>>(mut self, langs: impl IntoIterator<Item = S>) -> MmdbWriter {
        self.languages = langs.into_iter().map(Into::into).collect();
        self
    }

    /// Forces the search tree's record size: 24, 28 or 32 bits (anything
    /// else is an error). Without it the smallest size that fits is used;
    /// if the tree turns out too big for the forced size, the smallest size
    /// that fits is used all the same.
    pub fn record_size(mut self, bits: u16) -> Result<MmdbWriter, WriteError> {
        if !matches!(bits, 24 | 28 | 32) {
            return Err(WriteError::RecordSize(bits));
        }
        self.record_size = Some(bits);
        Ok(self)
    }

    /// Maps the network `addr/prefix_len` to `value`.
    ///
    /// Host bits past the prefix are ignored. In an IPv6 database, an IPv4
    /// network goes to `::a.b.c.d/(96+prefix_len)`; an IPv4-mapped IPv6
    /// network (`::ffff:a.b.c.d/(96+n)`) is taken as the IPv4 network
    /// `a.b.c.d/n`, in either kind of database. Any other IPv6 network in an
    /// IPv4 database, and a prefix longer than the address, are errors.
    pub fn insert(&mut self, addr: IpAddr, prefix_len: u8, value: Value) -> Result<(), WriteError> {
        let (bits, depth) = self.tree_position(addr, prefix_len)?;
        let canonical = canonical(&value)?;
        let index = match self.value_index.get(&canonical) {
            Some(&i) => i,
            None => {
                let i = u32::try_from(self.values.len())
                    .map_err(|_| WriteError::ValueTooLarge("the set of records".into()))?;
                self.values.push(value);
                self.value_index.insert(canonical, i);
                i
            }
        };
        set_slot(&mut self.nodes, bits, depth, Slot::Data(index));
        Ok(())
    }

    /// Like [`insert`](Self::insert), with the network in `address/prefix`
    /// notation (`192.0.2.0/24`, `2001:db8::/32`); an address alone is a
    /// single host.
    pub fn insert_cidr(&mut self, network: &str, value: Value) -> Result<(), WriteError> {
        let bad = || WriteError::BadNetwork(network.to_owned());
        let (addr, len) = match network.trim().split_once('/') {
            Some((a, l)) => (
                a.parse::<IpAddr>().map_err(|_| bad())?,
                l.parse::<u8>().map_err(|_| bad())?,
            ),
            None => {
                let a = network.trim().parse::<IpAddr>().map_err(|_| bad())?;
                (a, if a.is_ipv4() { 32 } else { 128 })
            }
        };
        self.insert(addr, len, value)
    }

    /// Where a network sits in the tree: its bits, left-aligned in a u128
    /// (bit 127 is the first level of the tree), and its depth.
    fn tree_position(&self, addr: IpAddr, prefix_len: u8) -> Result<(u128, u32), WriteError> {
        let (v4, len) = match addr {
            IpAddr::V4(a) => {
                if prefix_len > 32 {
                    return Err(WriteError::PrefixTooLong {
                        prefix_len,
                        max: 32,
                    });
                }
                (u32::from(a), prefix_len)
            }
            IpAddr::V6(a) => {
                if prefix_len > 128 {
                    return Err(WriteError::PrefixTooLong {
                        prefix_len,
                        max: 128,
                    });
                }
                match a.to_ipv4_mapped() {
                    Some(v4) if prefix_len >= 96 => (u32::from(v4), prefix_len - 96),
                    _ => {
                        if self.ip_version == IpVersion::V4 {
                            return Err(WriteError::Ipv6InIpv4Database(a));
                        }
                        return Ok((u128::from(a), u32::from(prefix_len)));
                    }
                }
            }
        };
        Ok(match self.ip_version {
            IpVersion::V4 => (u128::from(v4) << 96, u32::from(len)),
            IpVersion::V6 => (u128::from(v4), 96 + u32::from(len)),
        })
    }

    /// The database as bytes, ready to be written to a `.mmdb` file.
    ///
    /// # Panics
    ///
    /// If the data section would pass 4 GiB, past what 32-bit records can
    /// address.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut nodes = self.nodes.clone();
        if self.ip_version == IpVersion::V6 {
            alias_ipv4_mapped(&mut nodes);
        }
        simplify_children(&mut nodes, 0);

        // Number the nodes reachable from the root, breadth first.
        let mut number = vec![u32::MAX; nodes.len()];
        let mut order: Vec<usize> = vec![0];
        number[0] = 0;
        let mut next = 0;
        while next < order.len() {
            for slot in nodes[order[next]] {
                if let Slot::Node(c) = slot {
                    let c = c as usize;
                    if number[c] == u32::MAX {
                        number[c] = to_u32(order.len());
                        order.push(c);
                    }
                }
            }
            next += 1;
        }
        let node_count = order.len();

        // The data section: each record reached, once, in tree order.
        let mut data = DataWriter::default();
        let mut offsets: Vec<Option<usize>> = vec![None; self.values.len()];
        for &n in &order {
            for slot in nodes[n] {
                if let Slot::Data(v) = slot {
                    let v = v as usize;
                    if offsets[v].is_none() {
                        offsets[v] = Some(data.buf.len());
                        data.value(&self.values[v], false);
                    }
                }
            }
        }

        let largest = (node_count + SEPARATOR + data.buf.len()) as u64;
        let needed: u16 = if largest < 1 << 24 {
            24
        } else if largest < 1 << 28 {
            28
        } else if largest <= u64::from(u32::MAX) {
            32
        } else {
            panic!("MaxMind DB too large: the data section passes 4 GiB");
        };
        let record_size = self.record_size.unwrap_or(needed).max(needed);

        let record = |slot: Slot| -> u32 {
            match slot {
                Slot::Empty => to_u32(node_count),
                Slot::Node(c) => number[c as usize],
                Slot::Data(v) => {
                    to_u32(node_count + SEPARATOR + offsets[v as usize].unwrap_or_default())
                }
            }
        };
        let tree_len = node_count * usize::from(record_size) / 4;
        let mut out = Vec::with_capacity(tree_len + SEPARATOR + data.buf.len() + 512);
        for &n in &order {
            let [l, r] = nodes[n];
            write_node(&mut out, record_size, record(l), record(r));
        }
        out.resize(out.len() + SEPARATOR, 0);
        out.extend_from_slice(&data.buf);

        out.extend_from_slice(METADATA_MARKER);
        let metadata = Value::Map(vec![
            ("node_count".into(), Value::U32(to_u32(node_count))),
            ("record_size".into(), Value::U16(record_size)),
            (
                "ip_version".into(),
                Value::U16(match self.ip_version {
                    IpVersion::V4 => 4,
                    IpVersion::V6 => 6,
                }),
            ),
            (
                "database_type".into(),
                Value::String(self.database_type.clone()),
            ),
            (
                "languages".into(),
                Value::Array(self.languages.iter().map(Value::from).collect()),
            ),
            ("binary_format_major_version".into(), Value::U16(2)),
            ("binary_format_minor_version".into(), Value::U16(0)),
            ("build_epoch".into(), Value::U64(self.build_epoch)),
            (
                "description".into(),
                Value::Map(
                    self.description
                        .iter()
                        .map(|(k, v)| (k.clone(), Value::from(v)))
                        .collect(),
                ),
            ),
        ]);
        // Metadata is plain (no pointers): its sizes are small and were
        // checked on the way in, so this cannot fail.
        encode_plain(&mut out, &metadata).expect("metadata values are small");
        out
    }

    /// Writes the database to `path`.
    pub fn write(&self, path: impl AsRef<Path>) -> Result<(), WriteError> {
        let path = path.as_ref();
        std::fs::write(path, self.to_bytes()).map_err(|source| WriteError::Io {
            path: path.to_owned(),
            source,
        })
    }
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).expect("checked against the record size")
}

/// The first `depth` bits of `bits` (bit 127 first) lead to a slot, which is
/// set to `value`: whatever was under it is dropped, and a record met on the
/// way is pushed down into both children of a new node.
fn set_slot(nodes: &mut Vec<[Slot; 2]>, bits: u128, depth: u32, value: Slot) {
    if depth == 0 {
        nodes[0] = [value; 2];
        return;
    }
    let mut node = 0usize;
    for d in 0..depth {
        let bit = ((bits >> (127 - d)) & 1) as usize;
        if d == depth - 1 {
            nodes[node][bit] = value;
            return;
        }
        node = match nodes[node][bit] {
            Slot::Node(n) => n as usize,
            leaf => {
                let n = nodes.len();
                nodes.push([leaf; 2]);
                nodes[node][bit] = Slot::Node(to_u32(n));
                n
            }
        };
    }
}

/// Makes `::ffff:0:0/96` lead where `::/96` (the IPv4 space) does, unless
/// the IPv4 space is empty or one record already covers both.
fn alias_ipv4_mapped(nodes: &mut Vec<[Slot; 2]>) {
    let mut slot = Slot::Node(0);
    let mut depth = 0;
    while depth < 96 {
        match slot {
            Slot::Node(n) => slot = nodes[n as usize][0],
            _ => break,
        }
        depth += 1;
    }
    if slot == Slot::Empty || (depth <= 80 && !matches!(slot, Slot::Node(_))) {
        return;
    }
    let mapped = u128::from(Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0, 0));
    set_slot(nodes, mapped, 96, slot);
}

/// Replaces every child node of `n` whose two records are the same record
/// (or both empty) by that record, bottom up. The root itself stays a node.
fn simplify_children(nodes: &mut [[Slot; 2]], n: usize) {
    for i in 0..2 {
        if let Slot::Node(c) = nodes[n][i] {
            let c = c as usize;
            simplify_children(nodes, c);
            let [a, b] = nodes[c];
            if a == b && !matches!(a, Slot::Node(_)) {
                nodes[n][i] = a;
            }
        }
    }
}

/// One node of the search tree: two records of `bits` bits each.
fn write_node(out: &mut Vec<u8>, bits: u16, left: u32, right: u32) {
    let l = left.to_be_bytes();
    let r = right.to_be_bytes();
    match bits {
        24 => {
            out.extend_from_slice(&l[1..]);
            out.extend_from_slice(&r[1..]);
        }
        28 => {
            // Left's low 24 bits, then a byte with left's top nibble high
            // and right's top nibble low, then right's low 24 bits.
            out.extend_from_slice(&l[1..]);
            out.push(((l[0] & 0x0f) << 4) | (r[0] & 0x0f));
            out.extend_from_slice(&r[1..]);
        }
        _ => {
            out.extend_from_slice(&l);
            out.extend_from_slice(&r);
        }
    }
}

// Data section types (the spec's numbers).
const T_POINTER: u8 = 1;
const T_STRING: u8 = 2;
const T_DOUBLE: u8 = 3;
const T_BYTES: u8 = 4;
const T_UINT16: u8 = 5;
const T_UINT32: u8 = 6;
const T_MAP: u8 = 7;
const T_INT32: u8 = 8;
const T_UINT64: u8 = 9;
const T_UINT128: u8 = 10;
const T_ARRAY: u8 = 11;
const T_BOOL: u8 = 14;
const T_FLOAT: u8 = 15;

/// The largest size a control byte can announce.
const MAX_SIZE: usize = 65_821 + 0xff_ffff;

/// A control byte (plus the extended-type byte and size bytes it needs).
fn control(out: &mut Vec<u8>, type_num: u8, size: usize, what: &str) -> Result<(), WriteError> {
    let (first, extra): (u8, usize) = match size {
        0..29 => (size as u8, 0),
        29..285 => (29, 1),
        285..65_821 => (30, 2),
        65_821..=MAX_SIZE => (31, 3),
        _ => return Err(WriteError::ValueTooLarge(format!("{what} of size {size}"))),
    };
    if type_num <= 7 {
        out.push((type_num << 5) | first);
    } else {
        out.push(first);
        out.push(type_num - 7);
    }
    let rest = match first {
        29 => size - 29,
        30 => size - 285,
        31 => size - 65_821,
        _ => 0,
    };
    out.extend_from_slice(&rest.to_be_bytes()[size_of::<usize>() - extra..]);
    Ok(())
}

/// An unsigned integer in as few big-endian bytes as it needs (none for 0).
fn uint(out: &mut Vec<u8>, type_num: u8, bytes: &[u8]) {
    let skip = bytes.iter().take_while(|&&b| b == 0).count();
    let bytes = &bytes[skip..];
    // At most 16 bytes: the size is always below 29.
    out.push(if type_num <= 7 {
        (type_num << 5) | bytes.len() as u8
    } else {
        bytes.len() as u8
    });
    if type_num > 7 {
        out.push(type_num - 7);
    }
    out.extend_from_slice(bytes);
}

/// Scalars (everything but maps and arrays) in their one encoding.
fn encode_scalar(out: &mut Vec<u8>, v: &Value) -> Result<(), WriteError> {
    match v {
        Value::String(s) => {
            control(out, T_STRING, s.len(), "a string")?;
            out.extend_from_slice(s.as_bytes());
        }
        Value::Bytes(b) => {
            control(out, T_BYTES, b.len(), "a byte string")?;
            out.extend_from_slice(b);
        }
        Value::Double(d) => {
            control(out, T_DOUBLE, 8, "")?;
            out.extend_from_slice(&d.to_be_bytes());
        }
        Value::Float(f) => {
            control(out, T_FLOAT, 4, "")?;
            out.extend_from_slice(&f.to_be_bytes());
        }
        Value::U16(n) => uint(out, T_UINT16, &n.to_be_bytes()),
        Value::U32(n) => uint(out, T_UINT32, &n.to_be_bytes()),
        Value::U64(n) => uint(out, T_UINT64, &n.to_be_bytes()),
        Value::U128(n) => uint(out, T_UINT128, &n.to_be_bytes()),
        // Readers pad short int32s with zeros: negatives need all 4 bytes.
        Value::I32(n) if *n < 0 => {
            control(out, T_INT32, 4, "")?;
            out.extend_from_slice(&n.to_be_bytes());
        }
        Value::I32(n) => uint(out, T_INT32, &n.to_be_bytes()),
        Value::Bool(b) => control(out, T_BOOL, usize::from(*b), "")?,
        Value::Map(_) | Value::Array(_) => unreachable!("containers are not scalars"),
    }
    Ok(())
}

/// A value with no pointers: what records are compared by, and how the
/// metadata is written.
fn encode_plain(out: &mut Vec<u8>, v: &Value) -> Result<(), WriteError> {
    match v {
        Value::Map(m) => {
            control(out, T_MAP, m.len(), "a map")?;
            for (k, val) in m {
                control(out, T_STRING, k.len(), "a map key")?;
                out.extend_from_slice(k.as_bytes());
                encode_plain(out, val)?;
            }
        }
        Value::Array(a) => {
            control(out, T_ARRAY, a.len(), "an array")?;
            for val in a {
                encode_plain(out, val)?;
            }
        }
        scalar => encode_scalar(out, scalar)?,
    }
    Ok(())
}

fn canonical(v: &Value) -> Result<Vec<u8>, WriteError> {
    let mut out = Vec::new();
    encode_plain(&mut out, v)?;
    Ok(out)
}

/// A pointer to `offset` in the data section.
fn pointer(out: &mut Vec<u8>, offset: usize) {
    let ctrl = T_POINTER << 5;
    if offset < 2048 {
        out.push(ctrl | (offset >> 8) as u8);
        out.push(offset as u8);
    } else if offset < 2048 + (1 << 19) {
        let p = offset - 2048;
        out.push(ctrl | 0x08 | (p >> 16) as u8);
        out.extend_from_slice(&(p as u16).to_be_bytes());
    } else if offset < 526_336 + (1 << 27) {
        let p = offset - 526_336;
        out.push(ctrl | 0x10 | (p >> 24) as u8);
        out.extend_from_slice(&(p as u32).to_be_bytes()[1..]);
    } else {
        out.push(ctrl | 0x18);
        out.extend_from_slice(&to_u32(offset).to_be_bytes());
    }
}

/// The data section being written: values already written are pointed to
/// when a pointer is shorter than writing them again.
#[derive(Default)]
struct DataWriter {
    buf: Vec<u8>,
    /// Canonical encoding → offset where it was written in full.
    seen: HashMap<Vec<u8>, usize>,
}

impl DataWriter {
    /// Writes `v`; `nested` values may become pointers (a record the tree
    /// points to must not be one).
    fn value(&mut self, v: &Value, nested: bool) {
        // Sizes were checked when the record was inserted.
        let canon = canonical(v).expect("checked on insert");
        if nested && let Some(&at) = self.seen.get(&canon) {
            let mut p = Vec::with_capacity(5);
            pointer(&mut p, at);
            if p.len() < canon.len() {
                self.buf.extend_from_slice(&p);
                return;
            }
        }
        let at = self.buf.len();
        match v {
            Value::Map(m) => {
                control(&mut self.buf, T_MAP, m.len(), "").expect("checked on insert");
                for (k, val) in m {
                    self.value(&Value::String(k.clone()), true);
                    self.value(val, true);
                }
            }
            Value::Array(a) => {
                control(&mut self.buf, T_ARRAY, a.len(), "").expect("checked on insert");
                for val in a {
                    self.value(val, true);
                }
            }
            _ => self.buf.extend_from_slice(&canon),
        }
        self.seen.entry(canon).or_insert(at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(v: impl Into<Value>) -> Vec<u8> {
        canonical(&v.into()).unwrap()
    }

    #[test]
    fn scalars_byte_exact() {
        // Examples from the spec and by hand.
        assert_eq!(enc(""), [0x40]);
        assert_eq!(enc("ab"), [0x42, b'a', b'b']);
        assert_eq!(enc(0u16), [0xa0]);
        assert_eq!(enc(500u16), [0xa2, 0x01, 0xf4]);
        assert_eq!(enc(0u32), [0xc0]);
        assert_eq!(enc(15169u32), [0xc2, 0x3b, 0x41]);
        assert_eq!(enc(u32::MAX), [0xc4, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(enc(1u64 << 40), [0x06, 0x02, 0x01, 0, 0, 0, 0, 0]);
        assert_eq!(enc(1u128), [0x01, 0x03, 0x01]);
        assert_eq!(enc(0i32), [0x00, 0x01]);
        assert_eq!(enc(128i32), [0x01, 0x01, 0x80]);
        assert_eq!(enc(-1i32), [0x04, 0x01, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(enc(true), [0x01, 0x07]);
        assert_eq!(enc(false), [0x00, 0x07]);
        assert_eq!(enc(1.5f64), [0x68, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0]);
        assert_eq!(enc(1.5f32), [0x04, 0x08, 0x3f, 0xc0, 0, 0]);
        assert_eq!(enc(Value::Bytes(vec![1, 2])), [0x82, 1, 2]);
        assert_eq!(
            enc(Value::map([("en", "Germany")])),
            [
                0xe1, 0x42, b'e', b'n', 0x47, b'G', b'e', b'r', b'm', b'a', b'n', b'y'
            ]
        );
        assert_eq!(enc(Value::array([1u16, 2])), [0x02, 0x04, 0xa1, 1, 0xa1, 2]);
    }

    #[test]
    fn size_escapes() {
        let head = |n: usize| enc("x".repeat(n))[..5.min(n + 1)].to_vec();
        assert_eq!(head(28)[0], 0x5c);
        assert_eq!(head(29)[..2], [0x5d, 0x00]);
        assert_eq!(head(284)[..2], [0x5d, 0xff]);
        assert_eq!(head(285)[..3], [0x5e, 0x00, 0x00]);
        assert_eq!(head(65_820)[..3], [0x5e, 0xff, 0xff]);
        assert_eq!(head(65_821)[..4], [0x5f, 0x00, 0x00, 0x00]);
        assert_eq!(head(70_000)[..4], [0x5f, 0x00, 0x10, 0x53]);
        // Extended types put the type byte before the size bytes.
        let arr = enc(Value::Array(vec![Value::Bool(true); 300]));
        assert_eq!(arr[..4], [0x1e, 0x04, 0x00, 0x0f]);
        let mut out = Vec::new();
        assert!(matches!(
            control(&mut out, T_STRING, MAX_SIZE + 1, "a string"),
            Err(WriteError::ValueTooLarge(_))
        ));
    }

    #[test]
    fn pointers_byte_exact() {
        let p = |o: usize| {
            let mut v = Vec::new();
            pointer(&mut v, o);
            v
        };
        assert_eq!(p(0), [0x20, 0x00]);
        assert_eq!(p(2047), [0x27, 0xff]);
        assert_eq!(p(2048), [0x28, 0x00, 0x00]);
        assert_eq!(p(2048 + 0x7ffff), [0x2f, 0xff, 0xff]);
        assert_eq!(p(526_336), [0x30, 0x00, 0x00, 0x00]);
        assert_eq!(p(526_336 + 0x7ff_ffff), [0x37, 0xff, 0xff, 0xff]);
        assert_eq!(p(526_336 + 0x800_0000), [0x38, 0x08, 0x08, 0x08, 0x00]);
    }

    #[test]
    fn node_layouts() {
        let mut out = Vec::new();
        write_node(&mut out, 24, 0x0a_0b0c, 0x0d_0e0f);
        assert_eq!(out, [0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f]);
        out.clear();
        write_node(&mut out, 28, 0x0a_bc_de_f1, 0x02_34_56_78);
        assert_eq!(out, [0xbc, 0xde, 0xf1, 0xa2, 0x34, 0x56, 0x78]);
        out.clear();
        write_node(&mut out, 32, 0x0102_0304, 0x0506_0708);
        assert_eq!(out, [1, 2, 3, 4, 5, 6, 7, 8]);
    }

    #[test]
    fn repeated_strings_become_pointers() {
        let mut d = DataWriter::default();
        let rec = Value::map([
            ("organization", "Example Networks"),
            ("isp", "Example Networks"),
        ]);
        d.value(&rec, false);
        // map(2) + "organization" + "Example Networks" + "isp" + pointer(2 bytes)
        assert_eq!(d.buf.len(), 1 + 13 + 17 + 4 + 2);
        let at = 1 + 13;
        assert_eq!(d.buf[d.buf.len() - 2..], [0x20, at as u8]);
        // A second record sharing a key and a value points at both.
        let before = d.buf.len();
        d.value(&Value::map([("organization", "Example Networks")]), false);
        assert_eq!(d.buf.len() - before, 1 + 2 + 2);
    }

    #[test]
    fn tree_push_down_and_overwrite() {
        let mut w = MmdbWriter::new("t", IpVersion::V4);
        w.insert_cidr("10.0.0.0/8", "a".into()).unwrap();
        w.insert_cidr("10.1.0.0/16", "b".into()).unwrap();
        assert_eq!(w.values.len(), 2);
        // Broader over narrower: the /16 is gone from the tree.
        w.insert_cidr("10.0.0.0/8", "c".into()).unwrap();
        let mut nodes = w.nodes.clone();
        simplify_children(&mut nodes, 0);
        // Walk 10.1.0.0: 8 levels reach the /8 record directly.
        let mut slot = Slot::Node(0);
        for d in 0..8 {
            let Slot::Node(n) = slot else {
                panic!("leaf at {d}")
            };
            slot = nodes[n as usize][((10u32 << 24 >> (31 - d)) & 1) as usize];
        }
        assert_eq!(slot, Slot::Data(2));
    }

    #[test]
    fn insert_errors() {
        let mut w = MmdbWriter::new("t", IpVersion::V4);
        assert!(matches!(
            w.insert_cidr("2001:db8::/32", "x".into()),
            Err(WriteError::Ipv6InIpv4Database(_))
        ));
        assert!(matches!(
            w.insert("10.0.0.0".parse().unwrap(), 33, "x".into()),
            Err(WriteError::PrefixTooLong {
                prefix_len: 33,
                max: 32
            })
        ));
        assert!(matches!(
            w.insert_cidr("10.0.0.0/x", "x".into()),
            Err(WriteError::BadNetwork(_))
        ));
        // IPv4-mapped IPv6 is IPv4.
        w.insert_cidr("::ffff:10.0.0.0/104", "x".into()).unwrap();
        let mut v6 = MmdbWriter::new("t", IpVersion::V6);
        assert!(matches!(
            v6.insert("::".parse().unwrap(), 129, "x".into()),
            Err(WriteError::PrefixTooLong {
                prefix_len: 129,
                max: 128
            })
        ));
        assert!(matches!(
            MmdbWriter::new("t", IpVersion::V6).record_size(26),
            Err(WriteError::RecordSize(26))
        ));
    }

    #[test]
    fn deterministic() {
        let build = || {
            let mut w = MmdbWriter::new("t", IpVersion::V6).build_epoch(7);
            w.insert_cidr("1.2.3.0/24", Value::map([("a", 1u32)]))
                .unwrap();
            w.insert_cidr("2001:db8::/48", Value::map([("a", 2u32)]))
                .unwrap();
            w.to_bytes()
        };
        assert_eq!(build(), build());
    }
}
