//! Registrable domains ("eTLD+1") from the Public Suffix List.

use std::net::IpAddr;

/// The registrable domain of a host name: the public suffix plus one label
/// (`api.account.xiaomi.com` → `xiaomi.com`, `www.bbc.co.uk` → `bbc.co.uk`).
/// Lower-cased, trailing dot removed. `None` for address literals, bare
/// suffixes and names under no known suffix.
///
/// Only the ICANN section of the Public Suffix List counts: its private
/// section makes every customer of a hosting or CDN provider a domain of its
/// own (`d1234.cloudfront.net`), while a destinations view wants them under
/// the provider (`cloudfront.net`), the organisation that runs the servers.
/// The list is compiled in (the `psl` crate), so results do not depend on
/// the machine or the network.
///
/// ```
/// use telltale_detect::registrable_domain;
/// assert_eq!(registrable_domain("api.account.xiaomi.com").as_deref(), Some("xiaomi.com"));
/// assert_eq!(registrable_domain("d1234.cloudfront.net").as_deref(), Some("cloudfront.net"));
/// assert_eq!(registrable_domain("co.uk"), None);
/// assert_eq!(registrable_domain("8.8.8.8"), None);
/// ```
pub fn registrable_domain(name: &str) -> Option<String> {
    let name = name.trim().trim_end_matches('.').to_ascii_lowercase();
    if name.is_empty() || name.parse::<IpAddr>().is_ok() || name.starts_with('[') {
        return None;
    }
    let mut suffix = psl::suffix(name.as_bytes())?;
    // Walk up from a private-section suffix to the ICANN one beneath it.
    while suffix.typ() == Some(psl::Type::Private) {
        let s = suffix.as_bytes();
        let dot = s.iter().position(|&b| b == b'.')?;
        suffix = psl::suffix(&s[dot + 1..])?;
    }
    if suffix.typ() != Some(psl::Type::Icann) {
        return None;
    }
    let suffix_len = suffix.as_bytes().len();
    if name.len() <= suffix_len + 1 {
        return None;
    }
    let head = &name[..name.len() - suffix_len - 1];
    let label = head.rsplit('.').next()?;
    if label.is_empty() {
        return None;
    }
    Some(format!("{label}.{}", &name[name.len() - suffix_len..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_cases() {
        assert_eq!(
            registrable_domain("API.Account.Xiaomi.COM.").as_deref(),
            Some("xiaomi.com")
        );
        assert_eq!(
            registrable_domain("www.bbc.co.uk").as_deref(),
            Some("bbc.co.uk")
        );
        assert_eq!(
            registrable_domain("xiaomi.com").as_deref(),
            Some("xiaomi.com")
        );
        assert_eq!(
            registrable_domain("bucket.s3.ap-southeast-1.amazonaws.com").as_deref(),
            Some("amazonaws.com")
        );
        assert_eq!(
            registrable_domain("foo.github.io").as_deref(),
            Some("github.io")
        );
        assert_eq!(registrable_domain("localhost"), None);
        assert_eq!(registrable_domain("2001:db8::1"), None);
        assert_eq!(registrable_domain(""), None);
    }
}
