//! The WS-Man envelope parser on arbitrary bytes: never panics, never loops.
#![no_main]

use libfuzzer_sys::fuzz_target;
use runspace_gateway::inspect::xml::XmlLimits;
use runspace_gateway::wsman::parse_request;

fuzz_target!(|data: &[u8]| {
    let limits = XmlLimits { max_depth: 64, max_attributes: 32 };
    let _ = parse_request(data, &limits);
});
