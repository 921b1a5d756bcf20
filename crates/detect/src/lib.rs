//! Application events to findings: the detection stage of telltale.
//!
//! - **Device identifiers**: a [`Scanner`] finds IMEIs, IMSIs, phone numbers,
//!   MACs, advertising IDs, e-mail addresses and coordinates by validated
//!   pattern, and the values of a [`DeviceProfile`] in every encoding apps
//!   use (one index over all variants: its cost does not grow with the number
//!   of values). [`pieces`] splits an application event into what is worth
//!   scanning, each with a location;
//!   [`findings`] runs the scanner over them and places each [`Finding`] in
//!   its flow, packet and location.
//! - **Destination names**: [`DestinationNamer`] gives every flow a
//!   [`ServerName`] with its [`NameSource`] (TLS or QUIC SNI, HTTP Host, the
//!   DNS answer that resolved the server's address, the certificate), a
//!   [`DnsAttribution`] to audit it and [`NameFlags`] when the names
//!   disagree; [`registrable_domain`] groups names by organisation.
//!
//! Everything here is pure and deterministic: no I/O, no threads.
//!
//! ```
//! use telltale_detect::{DeviceProfile, Encoding, IdKind, Scanner};
//! let profile = DeviceProfile::from_toml("[[device]]\nname = \"phone\"\nimei = [\"865123456789019\"]\n").unwrap();
//! let scanner = Scanner::new(Some(&profile));
//! let found = scanner.scan(b"POST /a HTTP/1.1\r\n\r\nimei=865123456789019");
//! assert_eq!((found[0].kind, found[0].value.as_str()), (IdKind::Imei, "865123456789019"));
//! // The same IMEI hashed, as analytics SDKs often send it.
//! let found = scanner.scan(b"did=1f07a096686e798f4e6c69fed6b93265");
//! assert_eq!((found[0].value.as_str(), found[0].encoding), ("865123456789019", Encoding::Md5));
//! ```

#![deny(missing_docs)]

mod custom;
mod domain;
mod findings;
pub mod identifiers;
mod naming;
pub mod pieces;

pub use custom::{Detector, PatternDetector};
pub use domain::registrable_domain;
pub use findings::{Finding, findings};
pub use identifiers::{
    Confidence, DeviceProfile, Encoding, IdKind, IdentifierMatch, ProfileError, Scanner, Source,
};
pub use naming::{
    DestinationNamer, DnsAttribution, MAX_RESOLUTIONS_PER_ADDRESS, MAX_RESOLVED_ADDRESSES,
    NameFlags, NameSource, Resolutions, ServerName,
};
