use super::*;
use crate::psrp::fragment::split_message;

const LIMITS: ReassemblyLimits = ReassemblyLimits {
    max_message_bytes: 1000,
    max_pending_bytes: 100,
    max_pending_messages: 2,
    timeout_ms: 1000,
};

fn feed(
    r: &mut Reassembly,
    frags: &[Fragment<'_>],
    now: Millis,
) -> Result<Vec<Vec<u8>>, InspectError> {
    let mut out = Vec::new();
    for f in frags {
        if let Some(m) = r.push(&Target::Pool, f, now, &LIMITS)? {
            out.push(m);
        }
    }
    Ok(out)
}

#[test]
fn single_fragment_completes_at_once() {
    let mut r = Reassembly::default();
    let frags = split_message(1, b"hello", 100);
    assert_eq!(feed(&mut r, &frags, 0).unwrap(), vec![b"hello".to_vec()]);
    assert_eq!(r.pending_messages(), 0);
}

#[test]
fn several_fragments_join_in_order() {
    let mut r = Reassembly::default();
    let msg = b"abcdefghijklmnop";
    let frags = split_message(4, msg, 3);
    assert_eq!(feed(&mut r, &frags, 0).unwrap(), vec![msg.to_vec()]);
    assert_eq!(r.pending_bytes(), 0);
}

#[test]
fn identical_retransmission_is_ignored() {
    let mut r = Reassembly::default();
    let frags = split_message(4, b"abcdefghi", 3);
    let mut replay = vec![frags[0], frags[1], frags[0], frags[1], frags[2]];
    assert_eq!(
        feed(&mut r, &replay, 0).unwrap(),
        vec![b"abcdefghi".to_vec()]
    );
    replay.clear();
}

#[test]
fn conflicting_retransmission_is_refused() {
    let mut r = Reassembly::default();
    let frags = split_message(4, b"abcdefghi", 3);
    let mut evil = frags[1];
    evil.blob = b"XYZ";
    let e = feed(&mut r, &[frags[0], frags[1], evil], 0).unwrap_err();
    assert!(e.to_string().contains("different content"), "{e}");
    assert_eq!(r.pending_messages(), 0, "the broken message is dropped");
}

#[test]
fn gap_is_refused() {
    let mut r = Reassembly::default();
    let frags = split_message(4, b"abcdefghi", 3);
    let e = feed(&mut r, &[frags[0], frags[2]], 0).unwrap_err();
    assert!(e.to_string().contains("expected FragmentId 1"), "{e}");
}

#[test]
fn continuation_without_start_is_refused() {
    let mut r = Reassembly::default();
    let frags = split_message(4, b"abcdefghi", 3);
    assert!(feed(&mut r, &[frags[1]], 0).is_err());
}

#[test]
fn start_flag_on_later_fragment_is_refused() {
    let mut r = Reassembly::default();
    let frags = split_message(4, b"abcdefghi", 3);
    let mut bad = frags[1];
    bad.start = true;
    assert!(feed(&mut r, &[frags[0], bad], 0).is_err());
}

#[test]
fn pool_and_pipeline_buffers_are_separate() {
    let mut r = Reassembly::default();
    let frags = split_message(4, b"abcdef", 3);
    let pipe = Target::Pipeline("C1".into());
    assert!(r
        .push(&Target::Pool, &frags[0], 0, &LIMITS)
        .unwrap()
        .is_none());
    assert!(r.push(&pipe, &frags[1], 0, &LIMITS).is_err());
    assert_eq!(
        r.push(&Target::Pool, &frags[1], 0, &LIMITS).unwrap(),
        Some(b"abcdef".to_vec())
    );
}

#[test]
fn timeout_at_its_edge() {
    let mut r = Reassembly::default();
    let frags = split_message(4, b"abcdefghi", 3);
    feed(&mut r, &frags[..1], 0).unwrap();
    feed(&mut r, &frags[1..2], 1000).unwrap();
    // 1000 ms idle is still within the limit; 1001 ms is not.
    let e = feed(&mut r, &frags[2..], 2001).unwrap_err();
    assert!(e.to_string().contains("reassembly_timeout_ms"), "{e}");
    let mut r = Reassembly::default();
    feed(&mut r, &frags[..2], 0).unwrap();
    assert_eq!(feed(&mut r, &frags[2..], 1000).unwrap().len(), 1);
}

#[test]
fn max_message_bytes_at_its_edge() {
    let limits = ReassemblyLimits {
        max_message_bytes: 9,
        max_pending_bytes: 100,
        ..LIMITS
    };
    let mut r = Reassembly::default();
    for f in split_message(1, b"123456789", 4) {
        assert!(r.push(&Target::Pool, &f, 0, &limits).is_ok());
    }
    let mut r = Reassembly::default();
    let frags = split_message(1, b"1234567890", 4);
    let results: Vec<_> = frags
        .iter()
        .map(|f| r.push(&Target::Pool, f, 0, &limits))
        .collect();
    assert_eq!(
        results[2].as_ref().unwrap_err().limit_name(),
        Some("max_message_bytes")
    );
    let single = split_message(2, b"1234567890", 100);
    let e = r.push(&Target::Pool, &single[0], 0, &limits).unwrap_err();
    assert_eq!(e.limit_name(), Some("max_message_bytes"));
}

#[test]
fn max_pending_messages_at_its_edge() {
    let mut r = Reassembly::default();
    for id in 1..=2 {
        let f = split_message(id, b"abcdef", 3);
        assert!(r.push(&Target::Pool, &f[0], 0, &LIMITS).unwrap().is_none());
    }
    let f = split_message(3, b"abcdef", 3);
    let e = r.push(&Target::Pool, &f[0], 0, &LIMITS).unwrap_err();
    assert_eq!(e.limit_name(), Some("max_pending_messages_per_shell"));
}

#[test]
fn max_pending_bytes_at_its_edge() {
    let mut r = Reassembly::default();
    let big = vec![b'x'; 200];
    let frags = split_message(1, &big, 50);
    assert!(r.push(&Target::Pool, &frags[0], 0, &LIMITS).is_ok());
    assert!(r.push(&Target::Pool, &frags[1], 0, &LIMITS).is_ok());
    assert_eq!(r.pending_bytes(), 100);
    let e = r.push(&Target::Pool, &frags[2], 0, &LIMITS).unwrap_err();
    assert_eq!(e.limit_name(), Some("max_pending_bytes_per_shell"));
}

#[test]
fn drop_target_frees_its_buffers() {
    let mut r = Reassembly::default();
    let pipe = Target::Pipeline("C".into());
    let f = split_message(1, b"abcdef", 3);
    r.push(&pipe, &f[0], 0, &LIMITS).unwrap();
    r.drop_target(&pipe);
    assert_eq!((r.pending_messages(), r.pending_bytes()), (0, 0));
}
