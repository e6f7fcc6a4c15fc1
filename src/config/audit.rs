//! `[audit]`: the hash-chained JSON-lines audit log.
//!
//! What each `fsync` setting can lose on power loss is documented on
//! [`crate::audit::writer`] and in the README.

use super::Invalid;
use serde::Deserialize;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FsyncPolicy {
    /// Write before the call goes on; fsync at most `fsync_interval_ms` later, off the data path.
    Batch,
    /// Write and fsync before the call goes on (one fsync per group commit).
    Always,
    /// Never fsync; the OS writes back when it likes.
    Never,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// The current audit file; rotated files get a numeric suffix.
    pub path: PathBuf,
    pub fsync: FsyncPolicy,
    /// Under `fsync = "batch"`: the longest a written record waits for its fsync, so the most
    /// a power loss can take (see [`crate::audit::writer`]).
    pub fsync_interval_ms: u64,
    /// Rotate when the current file reaches this size.
    pub rotate_bytes: u64,
    /// Also emit every record through tracing (for log shippers).
    pub to_stdout: bool,
    /// The largest single record (one line). A bigger record is refused, and with it the call
    /// it records, because an unbounded record would be unbounded memory for every reader.
    pub max_record_bytes: u64,
}

/// The smallest `rotate_bytes` and `max_record_bytes` accepted.
const MIN_BYTES: u64 = 4096;
/// `fsync_interval_ms` by default: a power loss takes at most the last 10 ms of records.
pub const DEFAULT_FSYNC_INTERVAL_MS: u64 = 10;
/// The longest `fsync_interval_ms` accepted: beyond it, "batch" is "never" in all but name.
pub const MAX_FSYNC_INTERVAL_MS: u64 = 10_000;

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            path: PathBuf::from("data/audit.jsonl"),
            fsync: FsyncPolicy::Batch,
            fsync_interval_ms: DEFAULT_FSYNC_INTERVAL_MS,
            rotate_bytes: 64 * 1024 * 1024,
            to_stdout: false,
            max_record_bytes: 1024 * 1024,
        }
    }
}

impl AuditConfig {
    pub fn validate(&self) -> Result<(), Invalid> {
        if self.rotate_bytes < MIN_BYTES {
            return Err(Invalid::new("audit.rotate_bytes", "must be at least 4096"));
        }
        if !(1..=MAX_FSYNC_INTERVAL_MS).contains(&self.fsync_interval_ms) {
            return Err(Invalid::new(
                "audit.fsync_interval_ms",
                format!("must be between 1 and {MAX_FSYNC_INTERVAL_MS}"),
            ));
        }
        let line_limit = crate::audit::MAX_LINE_BYTES;
        if self.max_record_bytes < MIN_BYTES || self.max_record_bytes > line_limit {
            return Err(Invalid::new(
                "audit.max_record_bytes",
                format!("must be between 4096 and {line_limit} (what `audit verify` reads)"),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_record_bytes_is_checked_at_both_edges() {
        let mut c = AuditConfig::default();
        assert!(c.validate().is_ok());
        c.max_record_bytes = MIN_BYTES - 1;
        assert_eq!(c.validate().unwrap_err().key, "audit.max_record_bytes");
        c.max_record_bytes = MIN_BYTES;
        assert!(c.validate().is_ok());
        c.max_record_bytes = crate::audit::MAX_LINE_BYTES;
        assert!(c.validate().is_ok());
        c.max_record_bytes = crate::audit::MAX_LINE_BYTES + 1;
        assert_eq!(c.validate().unwrap_err().key, "audit.max_record_bytes");
    }

    #[test]
    fn fsync_interval_ms_is_checked_at_both_edges() {
        let mut c = AuditConfig::default();
        for (ms, ok) in [(0, false), (1, true), (MAX_FSYNC_INTERVAL_MS, true)] {
            c.fsync_interval_ms = ms;
            assert_eq!(c.validate().is_ok(), ok, "{ms}");
        }
        c.fsync_interval_ms = MAX_FSYNC_INTERVAL_MS + 1;
        assert_eq!(c.validate().unwrap_err().key, "audit.fsync_interval_ms");
    }
}
