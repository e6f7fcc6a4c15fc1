//! Group commit without a thread hop, for `fsync = "batch"` and `"never"`: the caller that
//! finds no commit running becomes the committer and writes every waiting record itself.
//!
//! Under those policies a commit is one `write` into the page cache (microseconds); the fsync
//! is the syncer's. Handing each record to a writer thread cost two context switches per
//! record, and on a loaded core the woken writer preempts the data path at once, so batches
//! stayed at one record. Here callers on other runtime threads that arrive while a commit runs
//! queue their records and wait; the committer keeps taking the queue until it is empty, so
//! one `write` still covers everything that arrived together.
//!
//! `"always"` keeps the writer thread ([`super::writer`]): its commit waits for a disk flush,
//! which must not block a runtime thread.

use super::commit::Writer;
use super::error::AuditError;
use super::event::AuditEvent;
use super::segment::ChainTip;
use super::writer::{Reply, MAX_BATCH_RECORDS};
use std::sync::{Mutex, MutexGuard};

/// Records waiting for the committer; at most one per waiting caller, so bounded by the
/// number of concurrent calls.
#[derive(Default)]
struct Queue {
    events: Vec<AuditEvent>,
    replies: Vec<Reply>,
    /// A caller is committing; new records wait for it.
    committing: bool,
    closed: bool,
}

pub(crate) struct InlineCommitter {
    queue: Mutex<Queue>,
    writer: Mutex<Writer>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl InlineCommitter {
    pub fn new(writer: Writer) -> InlineCommitter {
        InlineCommitter {
            queue: Mutex::new(Queue::default()),
            writer: Mutex::new(writer),
        }
    }

    /// Queue the record; if no commit is running, commit everything queued (this record
    /// included) before returning. The reply arrives on `reply` either way.
    pub fn submit(&self, event: AuditEvent, reply: Reply) {
        let lead = {
            let mut q = lock(&self.queue);
            if q.closed {
                let _ = reply.send(Err(AuditError::Closed));
                return;
            }
            q.events.push(event);
            q.replies.push(reply);
            !std::mem::replace(&mut q.committing, true)
        };
        if lead {
            self.commit_queued();
        }
    }

    /// Commit batches until the queue is empty, then hand the committer role back.
    fn commit_queued(&self) {
        loop {
            let (events, replies) = {
                let mut q = lock(&self.queue);
                if q.events.is_empty() {
                    q.committing = false;
                    return;
                }
                let n = q.events.len().min(MAX_BATCH_RECORDS);
                let events: Vec<_> = q.events.drain(..n).collect();
                let replies: Vec<_> = q.replies.drain(..n).collect();
                (events, replies)
            };
            lock(&self.writer).commit(events, replies);
        }
    }

    /// Refuse new records, let a running commit finish, flush what is written, and return
    /// where the chain ends.
    pub fn close(&self) -> ChainTip {
        loop {
            let mut q = lock(&self.queue);
            q.closed = true;
            if !q.committing {
                break;
            }
            drop(q);
            std::thread::yield_now();
        }
        let mut writer = lock(&self.writer);
        writer.finish();
        writer.tip.clone()
    }
}
