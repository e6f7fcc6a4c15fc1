//! What can go wrong when writing the audit log, each error saying where and what to do.
//!
//! Every variant means the record was NOT written: the caller must refuse the call it was
//! about to let through (fail closed). The type is `Clone` because one failed batch answers
//! every waiter in it with the same error.

use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// The file or its directory could not be opened or read at start.
    #[error(
        "audit: cannot open {path}: {message}; check [audit] path, its directory and permissions"
    )]
    Open { path: PathBuf, message: String },
    /// The file ends inside a record. The gateway cannot tell a crash from a cut file, and the
    /// partial record may be evidence, so it refuses to start rather than truncate silently.
    #[error(
        "audit: {path} line {line} is incomplete (no newline at the end): a write was cut short \
         by a crash, or the file was truncated; keep a copy of the file, run \
         `runspace-gateway audit verify` on it, then remove the partial line with \
         `truncate -s {keep_bytes} {path}` to resume the chain"
    )]
    TornTail {
        path: PathBuf,
        line: u64,
        keep_bytes: u64,
    },
    /// The last record cannot be resumed from: it is not a chained record or fails its hash.
    #[error(
        "audit: {path} line {line} cannot resume the chain: {why}; run \
         `runspace-gateway audit verify` on the audit files"
    )]
    BadRecord {
        path: PathBuf,
        line: u64,
        why: String,
    },
    /// A write, fsync or rotation failed (disk full, I/O error). The batch was not written.
    #[error(
        "audit: writing {path} failed: {message}; the call is refused (fail closed); free disk \
         space or fix the I/O error"
    )]
    Write { path: PathBuf, message: String },
    /// An earlier failure left the file in a state the writer could not undo; every later
    /// append fails until an operator checks the file and restarts the gateway.
    #[error(
        "audit: the writer stopped after a failure on {path} it could not undo ({message}); run \
         `runspace-gateway audit verify` on the audit files, then restart the gateway"
    )]
    Poisoned { path: PathBuf, message: String },
    /// One record is larger than `[audit] max_record_bytes`.
    #[error(
        "audit: a record of {bytes} bytes exceeds [audit] max_record_bytes = {limit}; the call \
         is refused; raise the limit if such calls are expected"
    )]
    RecordTooLarge { bytes: usize, limit: u64 },
    /// The record could not be serialised (should not happen with the types used).
    #[error("audit: cannot serialise the record: {0}")]
    Encode(String),
    /// The writer has shut down; nothing more can be recorded.
    #[error("audit: the writer has stopped; no record can be written")]
    Closed,
}
