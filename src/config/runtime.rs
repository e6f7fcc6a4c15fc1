//! `[runtime]`: how many threads serve connections.

use super::Invalid;
use serde::Deserialize;

/// The most worker threads accepted: far above any core count this serves well on.
pub const MAX_WORKER_THREADS: usize = 256;

/// Read once at start; a reload keeps the running value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RuntimeConfig {
    /// Threads that serve connections. 0 means one per CPU the process may run on (its CPU
    /// affinity and cgroup quota); at most [`MAX_WORKER_THREADS`].
    pub worker_threads: usize,
}

/// The scheduler the gateway runs its connections on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheduler {
    /// One thread: tokio's current-thread scheduler. A work-stealing pool of one worker
    /// only adds cross-thread wake-ups (measured: about 40% more REST throughput on one core).
    CurrentThread,
    /// A work-stealing pool of this many workers.
    MultiThread(usize),
}

impl RuntimeConfig {
    pub fn validate(&self) -> Result<(), Invalid> {
        if self.worker_threads > MAX_WORKER_THREADS {
            return Err(Invalid::new(
                "runtime.worker_threads",
                format!(
                    "must be between 0 (one per CPU) and {MAX_WORKER_THREADS}, not {}",
                    self.worker_threads
                ),
            ));
        }
        Ok(())
    }

    /// The scheduler for this setting, given the CPUs the process may run on.
    pub fn scheduler(&self, available_cpus: usize) -> Scheduler {
        let threads = match self.worker_threads {
            0 => available_cpus.clamp(1, MAX_WORKER_THREADS),
            n => n,
        };
        if threads == 1 {
            Scheduler::CurrentThread
        } else {
            Scheduler::MultiThread(threads)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_follows_the_available_cpus() {
        let auto = RuntimeConfig::default();
        assert_eq!(auto.scheduler(1), Scheduler::CurrentThread);
        assert_eq!(auto.scheduler(2), Scheduler::MultiThread(2));
        assert_eq!(auto.scheduler(0), Scheduler::CurrentThread);
        assert_eq!(
            auto.scheduler(10_000),
            Scheduler::MultiThread(MAX_WORKER_THREADS)
        );
    }

    #[test]
    fn an_explicit_count_ignores_the_cpus() {
        let one = RuntimeConfig { worker_threads: 1 };
        assert_eq!(one.scheduler(8), Scheduler::CurrentThread);
        let four = RuntimeConfig { worker_threads: 4 };
        assert_eq!(four.scheduler(1), Scheduler::MultiThread(4));
    }

    #[test]
    fn the_ceiling_is_accepted_and_one_more_is_refused() {
        let top = RuntimeConfig {
            worker_threads: MAX_WORKER_THREADS,
        };
        assert!(top.validate().is_ok());
        let over = RuntimeConfig {
            worker_threads: MAX_WORKER_THREADS + 1,
        };
        let err = over.validate().unwrap_err();
        assert_eq!(err.key, "runtime.worker_threads");
        assert!(err.message.contains("257"), "{}", err.message);
    }
}
