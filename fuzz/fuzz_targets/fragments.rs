//! Fragment parsing and reassembly: the first byte picks pool or pipeline per fragment, the
//! rest is a fragment stream. Checks the buffer accounting stays within its limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use runspace_gateway::inspect::reassembly::{Reassembly, ReassemblyLimits, Target};
use runspace_gateway::psrp::fragment::fragments;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, stream)) = data.split_first() else { return };
    let limits = ReassemblyLimits {
        max_message_bytes: 4096,
        max_pending_bytes: 8192,
        max_pending_messages: 8,
        timeout_ms: 1000,
    };
    let mut r = Reassembly::default();
    for (i, f) in fragments(stream).enumerate() {
        let Ok(f) = f else { break };
        let target = if selector >> (i % 8) & 1 == 0 { Target::Pool } else { Target::Pipeline("C".into()) };
        if let Ok(Some(msg)) = r.push(&target, &f, (i as i64) * 300, &limits) {
            assert!(msg.len() <= limits.max_message_bytes);
        }
        assert!(r.pending_bytes() <= limits.max_pending_bytes);
        assert!(r.pending_messages() <= limits.max_pending_messages);
    }
});
