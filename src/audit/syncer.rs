//! Under `fsync = "batch"`: the thread that flushes the audit file to disk at most
//! `fsync_interval_ms` after a write. Calls wait only for the `write` of their record, never for
//! a disk flush, so the flush's latency (milliseconds, and far more at its tail) stays off the
//! data path; what a power loss can then lose is described in [`super::writer`].

use super::writer::{AuditStats, FailPoint};
use std::fs::File;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The writer thread's handle on the syncer thread. Dropping it stops the thread without a
/// last flush: the writer does that itself when it closes.
pub(crate) struct Syncer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    interval: Duration,
    stats: Arc<AuditStats>,
    fail_point: FailPoint,
}

struct State {
    /// The file being appended to (replaced on rotation).
    file: Arc<File>,
    /// Written since the last flush started.
    dirty: bool,
    closing: bool,
    /// The first failed flush; the writer is poisoned by it.
    failure: Option<String>,
}

impl Syncer {
    pub fn start(
        file: Arc<File>,
        interval: Duration,
        stats: Arc<AuditStats>,
        fail_point: FailPoint,
    ) -> std::io::Result<Syncer> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                file,
                dirty: false,
                closing: false,
                failure: None,
            }),
            wake: Condvar::new(),
            interval,
            stats,
            fail_point,
        });
        let thread_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("audit-syncer".into())
            .spawn(move || thread_shared.run())?;
        Ok(Syncer {
            shared,
            thread: Some(thread),
        })
    }

    /// Records were written: flush them within the interval.
    pub fn written(&self) {
        let mut state = self.shared.lock();
        if !state.dirty {
            state.dirty = true;
            self.shared.wake.notify_one();
        }
    }

    /// After a rotation: flush the new file from now on (the writer flushed the old one).
    pub fn replace_file(&self, file: Arc<File>) {
        self.shared.lock().file = file;
    }

    /// Why a flush failed, once one has.
    pub fn failure(&self) -> Option<String> {
        self.shared.lock().failure.clone()
    }
}

impl Drop for Syncer {
    fn drop(&mut self) {
        self.shared.lock().closing = true;
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Wait for a write, let the interval pass so one flush covers everything written in it,
    /// flush, repeat. A failed flush is kept for the writer and ends the thread.
    fn run(&self) {
        loop {
            let Some(file) = self.next_flush() else {
                return;
            };
            let flushed = match self.fail_point.take_fsync() {
                true => Err(std::io::Error::other("injected fsync failure (FailPoint)")),
                false => file.sync_data(),
            };
            match flushed {
                Ok(()) => {
                    self.stats.fsyncs.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => {
                    let message = format!("fsync failed: {e}");
                    tracing::error!(target: "audit", error = %message, "audit fsync failed; every later record is refused");
                    self.lock().failure = Some(message);
                    return;
                }
            }
        }
    }

    /// The file to flush once it is due, or `None` when closing.
    fn next_flush(&self) -> Option<Arc<File>> {
        let mut state = self.lock();
        while !state.dirty && !state.closing {
            state = self.wake.wait(state).unwrap_or_else(|p| p.into_inner());
        }
        let due = Instant::now() + self.interval;
        while !state.closing {
            let now = Instant::now();
            if now >= due {
                break;
            }
            state = self
                .wake
                .wait_timeout(state, due - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        if state.closing {
            return None;
        }
        state.dirty = false;
        Some(state.file.clone())
    }
}
