//! The framing guard on arbitrary request streams: no panic, and the same verdict whether the
//! stream arrives in one read or in reads of any size (the first byte picks the size). A
//! verdict that depends on how TCP split the bytes is a request-smuggling inconsistency.
#![no_main]

use libfuzzer_sys::fuzz_target;
use runspace_gateway::proxy::{FramingTracker, FramingVerdict, FramingViolation};
use std::sync::Arc;

/// Requests checked per stream: far more than a fuzz input's heads.
const INDICES: u64 = 64;

fn run(stream: &[u8], read_size: usize) -> (bool, Vec<Option<FramingViolation>>) {
    let verdict = Arc::new(FramingVerdict::default());
    let mut tracker = FramingTracker::new(verdict.clone());
    let failed = stream
        .chunks(read_size.max(1))
        .any(|read| tracker.feed(read).is_err());
    let verdicts = (0..INDICES).map(|i| verdict.for_request(i)).collect();
    (failed, verdicts)
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, stream)) = data.split_first() else {
        return;
    };
    let whole = run(stream, stream.len());
    let split = run(stream, usize::from(first % 16) + 1);
    assert_eq!(whole, split, "the verdict depends on how reads split the stream");
});
