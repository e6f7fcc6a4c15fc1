//! `[audit]`: the hash-chained JSON-lines audit log.

use super::Invalid;
use serde::Deserialize;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FsyncPolicy {
    /// fsync after every group commit (batched: many records, one fsync).
    Batch,
    /// fsync after every record.
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
    /// Rotate when the current file reaches this size.
    pub rotate_bytes: u64,
    /// Also emit every record through tracing (for log shippers).
    pub to_stdout: bool,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            path: PathBuf::from("data/audit.jsonl"),
            fsync: FsyncPolicy::Batch,
            rotate_bytes: 64 * 1024 * 1024,
            to_stdout: false,
        }
    }
}

impl AuditConfig {
    pub fn validate(&self) -> Result<(), Invalid> {
        if self.rotate_bytes < 4096 {
            return Err(Invalid::new("audit.rotate_bytes", "must be at least 4096"));
        }
        Ok(())
    }
}
