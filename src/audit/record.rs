//! One chained record: its canonical bytes, its hash, and the line written to the file.
//!
//! # The rule, for an auditor re-implementing `audit verify`
//!
//! Each line of an audit file is one JSON object followed by `\n`. Its **canonical bytes** are
//! the object without the `hash` member: no insignificant whitespace, members in this fixed
//! order, absent optional members omitted:
//!
//! `time, seq, event, principal, client, protocol, tenant, shell_id, command_id, cmdlets,
//! decision, reason, policy_id, grant_id, request_id, approver, upstream_status,
//! upstream_latency_ms, decision_seq, prev`
//!
//! (strings escaped as `serde_json` does: `\"`, `\\`, `\n`-style short forms and `\u00xx` for
//! other control characters, everything else raw UTF-8). The line is the canonical bytes with the
//! final `}` replaced by `,"hash":"<H>"}`, so `hash` is always last and
//!
//! `H = lowercase_hex(SHA-256(ascii(prev) || canonical_bytes))`
//!
//! where `prev` is the 64-hex-digit hash of the record before (64 `0`s for the very first record
//! of the first file). To verify a line without trusting any JSON library: check that it ends
//! with `,"hash":"` + 64 lowercase hex digits + `"}`, cut those 75 bytes off, append `}`, and
//! hash. Then check that `seq` is the previous `seq` + 1 and `prev` the previous `hash`.
//!
//! The chain is not keyed: someone who can rewrite the file can also recompute every hash after
//! an edit. Keep the last hash (`audit verify` prints it, and the writer logs it on stop) outside
//! the gateway's reach to detect that, and a cut at a record boundary.

use super::event::AuditEvent;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The `prev` of the very first record of a chain.
pub const GENESIS_PREV: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The bytes after the canonical object's last member: `,"hash":"` (9), 64 hex digits, `"}` (2).
const HASH_SUFFIX_LEN: usize = 9 + 64 + 2;

/// A record as read back from a file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// RFC 3339 UTC with milliseconds, stamped by the writer.
    pub time: String,
    /// 1 for the first record of a chain, then +1 per record, across rotated files.
    pub seq: u64,
    #[serde(flatten)]
    pub event: AuditEvent,
    pub prev: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub hash: Option<String>,
}

/// The record without `hash`, borrowed, in canonical member order.
#[derive(Serialize)]
struct Unsealed<'a> {
    time: &'a str,
    seq: u64,
    #[serde(flatten)]
    event: &'a AuditEvent,
    prev: &'a str,
}

/// A record ready to write: its whole line (with `\n`) and its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub line: Vec<u8>,
    pub hash: String,
}

/// Build the canonical bytes, the chain hash and the line of one record.
pub fn seal(
    time: &str,
    seq: u64,
    event: &AuditEvent,
    prev: &str,
) -> Result<Sealed, serde_json::Error> {
    let unsealed = Unsealed {
        time,
        seq,
        event,
        prev,
    };
    let mut line = serde_json::to_vec(&unsealed)?;
    let hash = chain_hash(prev, &line);
    line.pop(); // the closing `}`
    line.extend_from_slice(b",\"hash\":\"");
    line.extend_from_slice(hash.as_bytes());
    line.extend_from_slice(b"\"}\n");
    Ok(Sealed { line, hash })
}

/// `lowercase_hex(SHA-256(ascii(prev) || canonical))`.
pub fn chain_hash(prev: &str, canonical: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    h.update(canonical);
    hex::encode(h.finalize())
}

/// Split a line (without its `\n`) into its canonical bytes and its recorded hash.
/// `None` when the line does not end in a well-formed `,"hash":"<64 hex>"}`.
pub fn split_line(line: &[u8]) -> Option<(Vec<u8>, &str)> {
    let cut = line.len().checked_sub(HASH_SUFFIX_LEN)?;
    let (body, suffix) = line.split_at(cut);
    let hex_part = suffix.strip_prefix(b",\"hash\":\"")?.strip_suffix(b"\"}")?;
    if !is_hash_hex(hex_part) {
        return None;
    }
    let hash = std::str::from_utf8(hex_part).ok()?;
    let mut canonical = body.to_vec();
    canonical.push(b'}');
    Some((canonical, hash))
}

/// 64 lowercase hex digits.
pub fn is_hash_hex(text: &[u8]) -> bool {
    text.len() == 64 && text.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::event::{Decision, EventKind};

    fn event() -> AuditEvent {
        let mut ev = AuditEvent::new(EventKind::Decision).with_principal("alice@contoso.com");
        ev.decision = Some(Decision::Deny);
        ev
    }

    #[test]
    fn line_is_canonical_bytes_plus_hash_last() {
        let s = seal("2026-01-01T00:00:00.000Z", 1, &event(), GENESIS_PREV).unwrap();
        let text = std::str::from_utf8(&s.line).unwrap();
        let expected_canonical = format!(
            r#"{{"time":"2026-01-01T00:00:00.000Z","seq":1,"event":"decision","principal":"alice@contoso.com","decision":"deny","prev":"{GENESIS_PREV}"}}"#
        );
        assert_eq!(
            s.hash,
            chain_hash(GENESIS_PREV, expected_canonical.as_bytes())
        );
        assert!(text.ends_with(&format!(",\"hash\":\"{}\"}}\n", s.hash)));
        let (canonical, hash) = split_line(text.trim_end().as_bytes()).unwrap();
        assert_eq!(canonical, expected_canonical.as_bytes());
        assert_eq!(hash, s.hash);
    }

    #[test]
    fn the_hash_depends_on_prev_and_on_every_byte() {
        let a = seal("t", 1, &event(), GENESIS_PREV).unwrap();
        let b = seal("t", 1, &event(), &a.hash).unwrap();
        assert_ne!(a.hash, b.hash);
        let c = seal("t", 2, &event(), GENESIS_PREV).unwrap();
        assert_ne!(a.hash, c.hash);
    }

    #[test]
    fn a_sealed_line_parses_back_to_the_same_record() {
        let s = seal("t", 7, &event(), GENESIS_PREV).unwrap();
        let r: AuditRecord = serde_json::from_slice(&s.line).unwrap();
        assert_eq!(r.seq, 7);
        assert_eq!(r.event, event());
        assert_eq!(r.hash.as_deref(), Some(s.hash.as_str()));
    }

    #[test]
    fn malformed_hash_suffixes_are_rejected() {
        assert!(split_line(b"{}").is_none());
        let upper = format!(r#"{{"a":1,"hash":"{}"}}"#, "A".repeat(64));
        assert!(split_line(upper.as_bytes()).is_none());
        let short = format!(r#"{{"a":1,"hash":"{}"}}"#, "a".repeat(63));
        assert!(split_line(short.as_bytes()).is_none());
    }
}
