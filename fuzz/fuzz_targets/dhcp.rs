//! DHCPv4 (BOOTP header and options) and DHCPv6 (options, IAs, relay
//! messages) parsers on the same arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use telltale_proto::dhcp;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = dhcp::parse_v4(data) {
        assert!(m.options.len() <= dhcp::MAX_OPTIONS);
        std::hint::black_box((m.message_type_name(), m.broadcast(), m.option(12), m.option(81)));
        std::hint::black_box(format!("{m:?}").len());
    }
    if let Ok(m) = dhcp::parse_v6(data) {
        std::hint::black_box((m.message_type_name(), m.addresses().count()));
        std::hint::black_box(format!("{m:?}").len());
    }
});
