//! The audit writer: one thread that owns the file, and cheap handles that queue records to it.
//!
//! # Group commit
//!
//! A commit takes every record waiting (up to [`MAX_BATCH_RECORDS`]), assigns `seq`, `prev`
//! and `hash` in order, writes them with one `write` (and, under `fsync = "always"`, one
//! `fdatasync`), and only then answers every waiter. Under load one write covers many
//! requests, so the hot path is not serialised behind a disk write each. Who commits depends
//! on the policy:
//!
//! - `"batch"` and `"never"`: the caller that finds no commit running commits everything
//!   queued itself ([`super::inline`]); a `write` into the page cache takes microseconds, less
//!   than a hand-off to another thread. Records of callers arriving meanwhile are queued and
//!   go out with the committer's next `write`.
//! - `"always"`: callers send records over a bounded channel ([`QUEUE_CAPACITY`]) to the
//!   writer thread and wait, because its commits wait for a disk flush and must not block a
//!   runtime thread.
//!
//! # What power loss can lose, per `[audit] fsync`
//!
//! In every mode a record is written to the file (the operating system has it) before its
//! call goes on, so a process crash (`kill -9`) loses nothing acknowledged.
//!
//! - `"batch"` (default): `append` returns once its record is written; the syncer thread
//!   ([`super::syncer`]) fsyncs the file at most `fsync_interval_ms` (10 ms by default) after
//!   a write, off the data path. A power loss or kernel crash can lose the records of the
//!   last interval (plus one fsync's duration), including records of calls that went on.
//!   A failed fsync poisons the writer: every later call is refused.
//! - `"always"`: `append` returns only after its record's batch is written and fsynced (one
//!   fsync per group commit). A power loss loses only records whose `append` had not yet
//!   returned, so no call was let through on their strength. Each call waits for a disk
//!   flush, which costs milliseconds on most disks.
//! - `"never"`: the kernel writes back when it likes (about 30 s by default on Linux); a
//!   power loss can lose every record written since. Use it only where the audit trail is
//!   also shipped elsewhere.
//!
//! After a power loss the file may end in a partial or zero-filled line; the gateway then
//! refuses to start until an operator checks and cuts it (see [`AuditError::TornTail`]).
//! Rotation fsyncs the old file and the directory after the rename under `"batch"` and
//! `"always"`, so a rotated file is never lost while its successor survives.
//!
//! # Resuming
//!
//! [`AuditLog::open`] continues the chain from the last line of `<path>` (or of the newest
//! `<path>.<n>` when `<path>` is empty, as a crash right after a rotation leaves it), after
//! checking that line against its own hash. It reads only that tail's chain state; run
//! `audit verify` for the whole chain. A last line without a newline is refused, not cut:
//! the gateway cannot tell a crash from a cut file, and under `"never"` the partial record
//! may be one whose call went through. [`AuditError::TornTail`] names the file, the line and
//! the exact `truncate -s` that an operator runs after keeping a copy.
//!
//! # Failures
//!
//! A failed write, fsync or rotation answers every waiter of the batch with
//! [`AuditError::Write`] and logs it; the caller refuses the call. A partial write is cut
//! back so the file still ends on a record boundary; when that (or an fsync) fails, the
//! writer is poisoned and every later append fails with [`AuditError::Poisoned`].

use super::error::AuditError;
use super::event::AuditEvent;
use super::inline::InlineCommitter;
use super::segment::{find_tip, open_error, parent_dir, rotated_files, ChainTip};
use super::syncer::Syncer;
use crate::clock::SharedClock;
use crate::config::{AuditConfig, FsyncPolicy};
use std::fs::{File, OpenOptions};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Under `"always"`: records waiting for the writer thread; senders wait (backpressure) when it
/// is full. (Inline commits queue at most one record per waiting caller.)
pub const QUEUE_CAPACITY: usize = 4096;
/// The most records written by one `write` (+ fsync), so one batch's latency stays bounded.
pub const MAX_BATCH_RECORDS: usize = 1024;

/// Proof that a record is in the file (and fsynced, per policy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditReceipt {
    pub seq: u64,
    pub hash: String,
}

/// Counters for metrics and for tests of the fsync policy.
#[derive(Debug, Default)]
pub struct AuditStats {
    /// Records written.
    pub records: AtomicU64,
    /// `write` calls (one per group commit, or per chunk when a rotation splits one).
    pub writes: AtomicU64,
    /// fsyncs of the audit file (by the writer or the syncer).
    pub fsyncs: AtomicU64,
    /// Rotations done.
    pub rotations: AtomicU64,
    /// Records refused because of a failure.
    pub failures: AtomicU64,
}

/// Real failures injected into the writer: its next write writes half the batch, then fails as
/// a disk would; or the syncer's next fsync fails. Tests arm them to check that the caller
/// refuses and the chain recovers (write) or stays refused (fsync).
#[derive(Debug, Clone, Default)]
pub struct FailPoint {
    write: Arc<AtomicBool>,
    fsync: Arc<AtomicBool>,
}

impl FailPoint {
    /// Make the next write fail (once).
    pub fn arm(&self) {
        self.write.store(true, Ordering::SeqCst);
    }
    /// Make the syncer's next fsync fail (once; it poisons the writer).
    pub fn arm_fsync(&self) {
        self.fsync.store(true, Ordering::SeqCst);
    }
    pub(crate) fn take(&self) -> bool {
        self.write.swap(false, Ordering::SeqCst)
    }
    pub(crate) fn take_fsync(&self) -> bool {
        self.fsync.swap(false, Ordering::SeqCst)
    }
}

struct Pending {
    event: AuditEvent,
    reply: oneshot::Sender<Result<AuditReceipt, AuditError>>,
}

/// The handle callers share (wrap it in an `Arc`). Dropping the last handle stops the writer
/// after it has written everything queued.
pub struct AuditLog {
    committer: Committer,
    stats: Arc<AuditStats>,
    fail_point: FailPoint,
}

/// Who writes: the caller itself (`"batch"`, `"never"`: see [`super::inline`]) or the writer
/// thread (`"always"`, whose commits wait for a disk flush).
enum Committer {
    Inline(Box<InlineCommitter>),
    Thread {
        tx: mpsc::Sender<Pending>,
        done: oneshot::Receiver<ChainTip>,
    },
}

impl AuditLog {
    /// Open (or create) the log at `config.path` and resume its chain from the last record.
    pub fn open(config: &AuditConfig, clock: SharedClock) -> Result<AuditLog, AuditError> {
        let path = config.path.clone();
        let dir = parent_dir(&path);
        std::fs::create_dir_all(&dir).map_err(|e| open_error(&dir, e))?;
        let rotated = rotated_files(&path)?;
        let tip = find_tip(&path, &rotated)?;
        let file = Arc::new(open_append(&path)?);
        let size = file.metadata().map_err(|e| open_error(&path, e))?.len();
        let next_rotation = rotated.last().map_or(1, |(n, _)| n.saturating_add(1));
        let stats = Arc::new(AuditStats::default());
        let fail_point = FailPoint::default();
        let syncer = match config.fsync {
            FsyncPolicy::Batch => Some(
                Syncer::start(
                    file.clone(),
                    Duration::from_millis(config.fsync_interval_ms),
                    stats.clone(),
                    fail_point.clone(),
                )
                .map_err(|e| open_error(&path, format!("cannot start the syncer: {e}")))?,
            ),
            _ => None,
        };
        let writer = super::commit::Writer {
            path,
            file,
            size,
            tip,
            next_rotation,
            fsync: config.fsync,
            syncer,
            rotate_bytes: config.rotate_bytes,
            max_record_bytes: config.max_record_bytes,
            to_stdout: config.to_stdout,
            clock,
            stats: stats.clone(),
            fail_point: fail_point.clone(),
            poisoned: None,
        };
        let committer = match config.fsync {
            FsyncPolicy::Always => {
                let (tx, rx) = mpsc::channel(QUEUE_CAPACITY);
                let (done_tx, done) = oneshot::channel();
                std::thread::Builder::new()
                    .name("audit-writer".into())
                    .spawn(move || run(writer, rx, done_tx))
                    .map_err(|e| {
                        open_error(&config.path, format!("cannot start the writer: {e}"))
                    })?;
                Committer::Thread { tx, done }
            }
            FsyncPolicy::Batch | FsyncPolicy::Never => {
                Committer::Inline(Box::new(InlineCommitter::new(writer)))
            }
        };
        Ok(AuditLog {
            committer,
            stats,
            fail_point,
        })
    }

    /// Queue a record and wait until it is written (and fsynced, per policy). An error means
    /// it was not written: refuse whatever it was recording.
    pub async fn append(&self, event: AuditEvent) -> Result<AuditReceipt, AuditError> {
        let (reply, answer) = oneshot::channel();
        match &self.committer {
            Committer::Inline(inline) => inline.submit(event, reply),
            Committer::Thread { tx, .. } => tx
                .send(Pending { event, reply })
                .await
                .map_err(|_| AuditError::Closed)?,
        }
        answer.await.map_err(|_| AuditError::Closed)?
    }

    pub fn stats(&self) -> &AuditStats {
        &self.stats
    }

    /// The counters, kept after [`AuditLog::close`] (which consumes the log).
    pub fn stats_handle(&self) -> Arc<AuditStats> {
        self.stats.clone()
    }

    /// The handle tests use to inject a real write failure.
    pub fn fail_point(&self) -> FailPoint {
        self.fail_point.clone()
    }

    /// Stop after everything queued is written; returns where the chain ends (log it, keep it).
    pub async fn close(self) -> Result<AuditReceipt, AuditError> {
        let tip = match self.committer {
            Committer::Inline(inline) => inline.close(),
            Committer::Thread { tx, done } => {
                drop(tx);
                done.await.map_err(|_| AuditError::Closed)?
            }
        };
        Ok(AuditReceipt {
            seq: tip.seq,
            hash: tip.hash,
        })
    }
}

pub(crate) fn open_append(path: &Path) -> Result<File, AuditError> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| open_error(path, e))
}

/// The writer thread: gather a batch, commit it, repeat until every handle is gone.
fn run(
    mut writer: super::commit::Writer,
    mut rx: mpsc::Receiver<Pending>,
    done: oneshot::Sender<ChainTip>,
) {
    while let Some(first) = rx.blocking_recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH_RECORDS {
            match rx.try_recv() {
                Ok(p) => batch.push(p),
                Err(_) => break,
            }
        }
        let (events, replies): (Vec<_>, Vec<_>) =
            batch.into_iter().map(|p| (p.event, p.reply)).unzip();
        writer.commit(events, replies);
    }
    writer.finish();
    let _ = done.send(writer.tip.clone());
}

pub(crate) type Reply = oneshot::Sender<Result<AuditReceipt, AuditError>>;
