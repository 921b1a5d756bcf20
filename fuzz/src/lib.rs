//! Helpers shared by the fuzz targets and the seed generator.

/// The device profile the targets that search for known values use: the
/// RedMi 1S of the project's fixture, every kind of value it can hold.
pub const PROFILE: &str = r#"
[[device]]
name = "RedMi 1S"
country = "CN"
imei = ["865123456789019"]
imsi = ["460011234567890"]
phone = ["+8613812345678"]
mac = ["64:cc:2e:4a:7b:19"]
android_id = ["9f1c2b3a4d5e6f70"]
location = [39.9042, 116.4074]
"#;

/// Reads structured values off the front of a fuzz input, yielding zeros
/// once it runs dry, so every input maps to some sequence of operations.
pub struct Cursor<'a> {
    data: &'a [u8],
}

impl<'a> Cursor<'a> {
    /// A cursor over `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Cursor { data }
    }

    /// Bytes not read yet.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether everything was read.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// One byte (0 when empty).
    pub fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    /// A big-endian u16.
    pub fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }

    /// A big-endian u32.
    pub fn u32(&mut self) -> u32 {
        u32::from_be_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }

    /// Up to `n` bytes.
    pub fn take(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.data.len());
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        head
    }

    /// Everything left.
    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.data)
    }
}

/// Splits `data` into chunks whose sizes are drawn from `sizes` (cycled;
/// a size byte of 0 means "the rest"). Used to feed stream parsers the same
/// bytes in arbitrary segmentations.
pub fn chunks<'a>(data: &'a [u8], sizes: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    let mut i = 0;
    while !rest.is_empty() {
        let n = match sizes.get(i % sizes.len().max(1)) {
            None | Some(0) => rest.len(),
            Some(&s) => usize::from(s).min(rest.len()),
        };
        let (head, tail) = rest.split_at(n);
        out.push(head);
        rest = tail;
        i += 1;
    }
    out
}
