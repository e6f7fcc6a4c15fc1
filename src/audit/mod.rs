//! The tamper-evident audit trail: one hash-chained JSON line per decision and workflow step,
//! written before the step takes effect.
//!
//! # Layout
//!
//! - [`event`]: what happened ([`AuditEvent`], [`EventKind`], [`Decision`]), built from an
//!   invocation with its secrets redacted by [`redact`] and very long values shortened by
//!   [`large`].
//! - [`record`]: the canonical bytes, the chain hash and the line; the exact rule an auditor
//!   needs to re-implement verification is documented there.
//! - [`writer`]: [`AuditLog`], the group-committing writer, and what each fsync policy can
//!   lose on power loss. `commit` is its thread's side, `syncer` the thread that flushes the
//!   file under `fsync = "batch"`; [`segment`] finds the chain's tip
//!   across rotated files.
//! - [`verify`] and [`search`]: the readers behind `audit verify` and `audit search`.

mod commit;
pub mod error;
pub mod event;
mod inline;
pub mod large;
mod lines;
mod params;
pub mod record;
pub mod redact;
pub mod search;
pub mod segment;
mod syncer;
pub mod verify;
pub mod writer;

pub use error::AuditError;
pub use event::{AuditCommand, AuditEvent, Decision, EventKind, Params};
pub use lines::MAX_LINE_BYTES;
pub use record::{AuditRecord, GENESIS_PREV};
pub use segment::rotated_path;
pub use writer::{AuditLog, AuditReceipt, AuditStats, FailPoint};
