//! Registry names as EVE writes them.

/// `A`, `AAAA`, ...; unknown types as `TYPE<n>` (RFC 3597 style).
pub(crate) fn rrtype_name(t: u16) -> String {
    telltale_proto::dns::type_name(t).map_or_else(|| format!("TYPE{t}"), str::to_owned)
}

/// `NOERROR`, `NXDOMAIN`, ...
pub(crate) fn rcode_name(rcode: u16) -> &'static str {
    telltale_proto::dns::rcode_name(rcode)
}

/// `TLS 1.2`, `TLS 1.3`, ...
pub(crate) fn tls_version_name(v: u16) -> String {
    telltale_proto::tls::version_name(v)
}
