//! Application events to findings: the detection stage of telltale.
//!
//! For now it names destinations: [`DestinationNamer`] gives every flow a
//! [`ServerName`] with its [`NameSource`] (TLS SNI, HTTP Host, or the DNS
//! answer that resolved the server's address, with a [`DnsAttribution`] to
//! audit it). Identifier detection (IMEI, IMSI, phone numbers, ...) will live
//! here too. Everything here is pure and deterministic: no I/O, no threads.
//!

mod domain;
pub mod identifiers;
mod naming;

pub use domain::registrable_domain;
pub use identifiers::{
    Confidence, DeviceProfile, Encoding, IdKind, IdentifierMatch, ProfileError, Scanner, Source,
};
pub use naming::{
    DestinationNamer, DnsAttribution, NameFlags, NameSource, Resolutions, ServerName,
};
mod findings;
pub mod pieces;
pub use findings::{Finding, findings};
