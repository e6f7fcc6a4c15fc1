//! REST bodies (InvokeCommand and $batch) on arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use runspace_gateway::config::InspectLimits;
use runspace_gateway::inspect::rest::inspect_rest;

fuzz_target!(|data: &[u8]| {
    let limits = InspectLimits::default();
    for path in ["/adminapi/beta/t/InvokeCommand", "/adminapi/beta/t/$batch"] {
        let _ = inspect_rest(path, None, data, "u", &limits);
        let _ = inspect_rest(path, Some("Get-Mailbox"), data, "u", &limits);
    }
});
