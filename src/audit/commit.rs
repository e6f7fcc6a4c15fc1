//! The writer's state and one group commit: seal, write, fsync, rotate, answer. It runs on the
//! writer thread or inline in a caller ([`super::inline`]), per `fsync` policy.
//! The policy is described in [`super::writer`].

use super::error::AuditError;
use super::event::AuditEvent;
use super::record::{seal, Sealed};
use super::segment::{parent_dir, rotated_path, ChainTip};
use super::syncer::Syncer;
use super::writer::{AuditReceipt, AuditStats, FailPoint, Reply, MAX_BATCH_RECORDS};
use crate::clock::{rfc3339, SharedClock};
use crate::config::FsyncPolicy;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Everything the writer thread owns.
pub(crate) struct Writer {
    pub path: PathBuf,
    /// Shared with the syncer thread under `"batch"`, which flushes it.
    pub file: Arc<File>,
    /// Bytes in the current file, to decide rotation without a `stat` per batch.
    pub size: u64,
    /// The last record written and acknowledged.
    pub tip: ChainTip,
    /// The suffix the next rotation renames the current file to.
    pub next_rotation: u64,
    pub fsync: FsyncPolicy,
    /// The flushing thread under `"batch"`; `None` under the other policies.
    pub syncer: Option<Syncer>,
    pub rotate_bytes: u64,
    pub max_record_bytes: u64,
    pub to_stdout: bool,
    pub clock: SharedClock,
    pub stats: Arc<AuditStats>,
    pub fail_point: FailPoint,
    /// Set when a failure could not be undone; every later append is refused.
    pub poisoned: Option<String>,
}

/// Dropped without a close (the last handle gone): what is written is still flushed.
impl Drop for Writer {
    fn drop(&mut self) {
        if self.syncer.take().is_some() {
            let _ = self.sync_now();
        }
    }
}

/// A sealed record and the waiter to answer once it is on disk.
struct Chained {
    sealed: Sealed,
    seq: u64,
    reply: Option<Reply>,
}

/// A failed write: what went wrong, and whether the file is now in an unknown state.
struct Failure {
    message: String,
    poison: bool,
}

impl Writer {
    /// Chain, write and answer one batch of events, in order.
    pub fn commit(&mut self, events: Vec<AuditEvent>, replies: Vec<Reply>) {
        if self.poisoned.is_none() {
            self.poisoned = self.syncer.as_ref().and_then(Syncer::failure);
        }
        if let Some(message) = &self.poisoned {
            let err = AuditError::Poisoned {
                path: self.path.clone(),
                message: message.clone(),
            };
            self.stats
                .failures
                .fetch_add(replies.len() as u64, Ordering::Relaxed);
            replies
                .into_iter()
                .for_each(|r| drop(r.send(Err(err.clone()))));
            return;
        }
        let chained = self.chain(events, replies);
        self.write_chained(chained);
    }

    /// Assign seq, prev and hash in order; records that cannot be sealed are answered now
    /// and take no place in the chain.
    fn chain(&mut self, events: Vec<AuditEvent>, replies: Vec<Reply>) -> Vec<Chained> {
        let time = rfc3339(self.clock.now_ms());
        let mut tip = self.tip.clone();
        let mut out = Vec::with_capacity(events.len());
        for (event, reply) in events.into_iter().zip(replies) {
            let seq = tip.seq + 1;
            let sealed = match seal(&time, seq, &event, &tip.hash) {
                Ok(s) if s.line.len() as u64 <= self.max_record_bytes => s,
                Ok(s) => {
                    self.refuse(reply, self.too_large(s.line.len()));
                    continue;
                }
                Err(e) => {
                    self.refuse(reply, AuditError::Encode(e.to_string()));
                    continue;
                }
            };
            tip = ChainTip {
                seq,
                hash: sealed.hash.clone(),
            };
            out.push(Chained {
                sealed,
                seq,
                reply: Some(reply),
            });
        }
        out
    }

    fn too_large(&self, bytes: usize) -> AuditError {
        AuditError::RecordTooLarge {
            bytes,
            limit: self.max_record_bytes,
        }
    }

    fn refuse(&self, reply: Reply, err: AuditError) {
        tracing::error!(target: "audit", error = %err, "audit record refused");
        self.stats.failures.fetch_add(1, Ordering::Relaxed);
        let _ = reply.send(Err(err));
    }

    /// Write the chained records in chunks that respect rotation, answering each chunk's
    /// waiters once it is written (and, under `"always"`, fsynced).
    fn write_chained(&mut self, mut records: Vec<Chained>) {
        let mut start = 0;
        while start < records.len() {
            let first_len = records[start].sealed.line.len() as u64;
            if let Err(f) = self.rotate_if_needed(first_len) {
                return self.fail_from(&mut records[start..], f);
            }
            let end = self.chunk_end(&records, start);
            if let Err(f) = self.write_chunk(&records[start..end]) {
                return self.fail_from(&mut records[start..], f);
            }
            for r in &mut records[start..end] {
                self.acknowledge(r);
            }
            start = end;
        }
    }

    /// Where the chunk starting at `start` ends: as many records as fit before the next
    /// rotation (at least one).
    fn chunk_end(&self, records: &[Chained], start: usize) -> usize {
        let mut size = self.size;
        let mut end = start;
        while end < records.len() && end - start < MAX_BATCH_RECORDS {
            let len = records[end].sealed.line.len() as u64;
            if end > start && size + len > self.rotate_bytes {
                break;
            }
            size += len;
            end += 1;
        }
        end
    }

    fn acknowledge(&mut self, r: &mut Chained) {
        self.tip = ChainTip {
            seq: r.seq,
            hash: r.sealed.hash.clone(),
        };
        if self.to_stdout {
            let text = String::from_utf8_lossy(&r.sealed.line);
            tracing::info!(target: "audit", record = %text.trim_end(), "audit record");
        }
        if let Some(reply) = r.reply.take() {
            let _ = reply.send(Ok(AuditReceipt {
                seq: r.seq,
                hash: r.sealed.hash.clone(),
            }));
        }
    }

    /// Answer every remaining waiter with the failure, and poison the writer if needed.
    fn fail_from(&mut self, records: &mut [Chained], f: Failure) {
        let path = self.path.clone();
        tracing::error!(target: "audit", path = %path.display(), error = %f.message, records = records.len(), "audit write failed; the calls are refused");
        if f.poison {
            self.poisoned = Some(f.message.clone());
        }
        self.stats
            .failures
            .fetch_add(records.len() as u64, Ordering::Relaxed);
        let err = AuditError::Write {
            path,
            message: f.message,
        };
        for r in records {
            if let Some(reply) = r.reply.take() {
                let _ = reply.send(Err(err.clone()));
            }
        }
    }

    /// One `write` of the chunk and, per policy, one fsync now (`"always"`) or soon after by
    /// the syncer (`"batch"`). A partial write is cut back.
    fn write_chunk(&mut self, chunk: &[Chained]) -> Result<(), Failure> {
        let mut buf = Vec::with_capacity(chunk.iter().map(|r| r.sealed.line.len()).sum());
        chunk
            .iter()
            .for_each(|r| buf.extend_from_slice(&r.sealed.line));
        let (written, result) = self.write_bytes(&buf);
        self.stats.writes.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = result {
            return Err(self.undo_partial(written, e));
        }
        match (&self.syncer, self.fsync) {
            (Some(syncer), _) => syncer.written(),
            (None, FsyncPolicy::Always) => self.sync_now().map_err(|message| Failure {
                message,
                poison: true,
            })?,
            (None, _) => {}
        }
        self.size += buf.len() as u64;
        self.stats
            .records
            .fetch_add(chunk.len() as u64, Ordering::Relaxed);
        Ok(())
    }

    /// At close: flush everything written (under `"batch"`) and log where the chain ends.
    pub fn finish(&mut self) {
        if self.syncer.take().is_some() {
            if let Err(e) = self.sync_now() {
                tracing::error!(target: "audit", error = %e, "the last audit fsync failed");
            }
        }
        let tip = &self.tip;
        tracing::info!(target: "audit", seq = tip.seq, hash = %tip.hash, "audit log closed; keep this last hash to detect a cut at a record boundary");
    }

    /// Flush the file on this thread (under `"always"`, and at close under `"batch"`).
    pub fn sync_now(&self) -> Result<(), String> {
        self.stats.fsyncs.fetch_add(1, Ordering::Relaxed);
        self.file
            .sync_data()
            .map_err(|e| format!("fsync failed: {e}"))
    }

    /// Write all of `buf`, reporting how much reached the file before any error.
    fn write_bytes(&mut self, buf: &[u8]) -> (usize, std::io::Result<()>) {
        let (to_write, injected) = match self.fail_point.take() {
            true => (&buf[..buf.len() / 2], true),
            false => (buf, false),
        };
        let mut done = 0;
        while done < to_write.len() {
            match (&*self.file).write(&to_write[done..]) {
                Ok(0) => return (done, Err(std::io::ErrorKind::WriteZero.into())),
                Ok(n) => done += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return (done, Err(e)),
            }
        }
        match injected {
            true => (
                done,
                Err(std::io::Error::other("injected write failure (FailPoint)")),
            ),
            false => (done, Ok(())),
        }
    }

    /// After a failed write, cut the file back to its last record boundary.
    fn undo_partial(&mut self, written: usize, e: std::io::Error) -> Failure {
        if written == 0 {
            return Failure {
                message: e.to_string(),
                poison: false,
            };
        }
        match self.file.set_len(self.size) {
            Ok(()) => Failure {
                message: format!("{e} (the partial write was cut back)"),
                poison: false,
            },
            Err(cut) => Failure {
                message: format!("{e}; cutting the partial write back failed: {cut}"),
                poison: true,
            },
        }
    }

    fn rotate_if_needed(&mut self, next_len: u64) -> Result<(), Failure> {
        if self.size == 0 || self.size + next_len <= self.rotate_bytes {
            return Ok(());
        }
        self.rotate().map_err(|e| Failure {
            message: format!("rotation failed: {e}"),
            poison: true,
        })
    }

    /// Rename the full file to `<path>.<n>` and start a new one; the chain simply continues.
    fn rotate(&mut self) -> std::io::Result<()> {
        let durable = self.fsync != FsyncPolicy::Never;
        if durable {
            self.file.sync_all()?;
        }
        let target = rotated_path(&self.path, self.next_rotation);
        if std::fs::symlink_metadata(&target).is_ok() {
            let msg = format!(
                "{} already exists; refusing to overwrite it",
                target.display()
            );
            return Err(std::io::Error::new(std::io::ErrorKind::AlreadyExists, msg));
        }
        std::fs::rename(&self.path, &target)?;
        self.next_rotation += 1;
        self.file = Arc::new(
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)?,
        );
        if let Some(syncer) = &self.syncer {
            syncer.replace_file(self.file.clone());
        }
        self.size = 0;
        if durable {
            File::open(parent_dir(&self.path))?.sync_all()?;
        }
        self.stats.rotations.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}
