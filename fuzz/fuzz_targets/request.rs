//! Whole requests to invocations: the input is several request bodies separated by
//! `\n--8<--\n`, inspected in order as one session through the gateway's entry point.
#![no_main]

use libfuzzer_sys::fuzz_target;
use runspace_gateway::config::InspectLimits;
use runspace_gateway::inspect::Inspector;

const SEPARATOR: &[u8] = b"\n--8<--\n";

fuzz_target!(|data: &[u8]| {
    let limits = InspectLimits {
        max_message_bytes: 1 << 16,
        max_pending_bytes_per_shell: 1 << 17,
        ..InspectLimits::default()
    };
    let inspector = Inspector::new(limits);
    let (head, ()) = http::Request::builder()
        .method("POST")
        .uri("/wsman")
        .header("authorization", "Basic dXNlcjpwdw==")
        .body(())
        .expect("static request")
        .into_parts();
    let mut rest = data;
    let mut now = 0;
    loop {
        let (body, next) = match find(rest, SEPARATOR) {
            Some(i) => (&rest[..i], Some(&rest[i + SEPARATOR.len()..])),
            None => (rest, None),
        };
        if let Ok(inspection) = inspector.inspect(&head, body, None, now) {
            if let Some(inv) = inspection.invocation() {
                assert!(!inv.statements.is_empty());
            }
        }
        now += 1000;
        match next {
            Some(n) => rest = n,
            None => break,
        }
    }
});

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
