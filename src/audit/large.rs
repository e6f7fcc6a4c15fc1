//! Large string values in an audit record: kept as their size, digest and first bytes.
//!
//! A cmdlet may carry a file's bytes or a long document as one parameter (`-FileData`, a
//! rule collection). Recording it whole would bloat every line and, above
//! `audit.max_record_bytes`, refuse the call. The SHA-256 lets an investigator match the record
//! against the original; the first bytes say what it was.

use sha2::{Digest, Sha256};

/// Longest string value (in UTF-8 bytes) an audit record holds as it was sent.
pub const MAX_AUDIT_STRING_BYTES: usize = 64 * 1024;

/// How much of a longer value is kept, at most (cut back to a character boundary).
pub const TRUNCATED_HEAD_BYTES: usize = 256;

/// `None` for a value short enough to keep; otherwise
/// `[truncated: N bytes, sha256 HEX] HEAD...`.
pub fn shorten(value: &str) -> Option<String> {
    if value.len() <= MAX_AUDIT_STRING_BYTES {
        return None;
    }
    let mut end = TRUNCATED_HEAD_BYTES;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    let digest = hex::encode(Sha256::digest(value.as_bytes()));
    Some(format!(
        "[truncated: {} bytes, sha256 {digest}] {}...",
        value.len(),
        &value[..end]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_at_the_limit_is_kept_and_one_byte_more_is_shortened() {
        let at = "a".repeat(MAX_AUDIT_STRING_BYTES);
        assert_eq!(shorten(&at), None);
        let over = "a".repeat(MAX_AUDIT_STRING_BYTES + 1);
        let short = shorten(&over).unwrap();
        let digest = hex::encode(Sha256::digest(over.as_bytes()));
        let head = "a".repeat(TRUNCATED_HEAD_BYTES);
        assert_eq!(
            short,
            format!("[truncated: 65537 bytes, sha256 {digest}] {head}...")
        );
    }

    #[test]
    fn the_head_ends_on_a_character_boundary() {
        // 255 ASCII bytes, then two-byte characters: byte 256 is inside the first of them.
        let value = format!("{}{}", "a".repeat(255), "é".repeat(MAX_AUDIT_STRING_BYTES));
        let short = shorten(&value).unwrap();
        let head = short.split("] ").nth(1).unwrap().trim_end_matches("...");
        assert_eq!(head, "a".repeat(255));
    }
}
