//! The outbox worker: delivers queued notifications and retries failures with exponential
//! backoff (by the injected clock), logging every failure. A message is never dropped silently:
//! after [`MAX_ATTEMPTS`] it is kept in the store, marked dead, and logged as an error.

use super::Deliver;
use crate::clock::{Millis, SharedClock};
use crate::store::Store;
use std::sync::Arc;
use std::time::Duration;

/// First retry delay; each further failure doubles it.
pub const RETRY_BASE_MS: i64 = 30_000;
/// Longest delay between two attempts.
pub const RETRY_MAX_MS: i64 = 3_600_000;
/// Attempts before a message is marked dead (about 15 hours of retrying).
pub const MAX_ATTEMPTS: u32 = 20;
/// Messages taken from the outbox per pass.
pub const BATCH: usize = 50;
/// How often the worker looks for due retries when nothing wakes it.
pub const POLL_INTERVAL: Duration = Duration::from_secs(10);

/// Delay before attempt `failed + 1`, after `failed` failures (1, 2, ...).
pub fn backoff_ms(failed: u32) -> i64 {
    let exp = failed.saturating_sub(1).min(20);
    (RETRY_BASE_MS.saturating_mul(1 << exp)).min(RETRY_MAX_MS)
}

pub struct OutboxWorker {
    pub store: Arc<dyn Store>,
    pub deliver: Arc<dyn Deliver>,
    pub clock: SharedClock,
}

/// What one pass did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Pass {
    pub delivered: usize,
    pub failed: usize,
}

impl OutboxWorker {
    /// Deliver everything due now, once.
    pub async fn run_once(&self) -> Result<Pass, String> {
        let now = self.clock.now_ms();
        let store = self.store.clone();
        let due = tokio::task::spawn_blocking(move || store.due_outbox(now, BATCH))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        let mut pass = Pass::default();
        for item in due {
            let result = self.deliver.deliver(&item.message).await;
            let store = self.store.clone();
            let at = self.clock.now_ms();
            let (id, attempts) = (item.id, item.attempts + 1);
            match result {
                Ok(()) => {
                    pass.delivered += 1;
                    blocking(move || store.outbox_delivered(id, at)).await?;
                }
                Err(error) => {
                    pass.failed += 1;
                    let next = next_attempt(attempts, at);
                    log_failure(
                        &item.message.channel,
                        &item.message.subject,
                        attempts,
                        &error,
                        next,
                    );
                    blocking(move || store.outbox_failed(id, &error, next)).await?;
                }
            }
        }
        Ok(pass)
    }

    /// Run until `shutdown`: a pass whenever `wake` fires or every [`POLL_INTERVAL`].
    pub async fn run(
        self,
        wake: Arc<tokio::sync::Notify>,
        shutdown: impl std::future::Future<Output = ()>,
    ) {
        tokio::pin!(shutdown);
        loop {
            if let Err(e) = self.run_once().await {
                tracing::error!(target: "notify", error = %e, "outbox pass failed; retrying");
            }
            tokio::select! {
                _ = &mut shutdown => return,
                _ = wake.notified() => {}
                _ = tokio::time::sleep(POLL_INTERVAL) => {}
            }
        }
    }
}

fn next_attempt(attempts: u32, at: Millis) -> Option<Millis> {
    (attempts < MAX_ATTEMPTS).then(|| at + backoff_ms(attempts))
}

fn log_failure(
    channel: &crate::store::Channel,
    subject: &str,
    attempts: u32,
    error: &str,
    next: Option<Millis>,
) {
    match next {
        Some(at) => tracing::warn!(target: "notify", ?channel, subject, attempts, error,
            retry_at = %crate::clock::rfc3339(at), "notification failed; will retry"),
        None => tracing::error!(target: "notify", ?channel, subject, attempts, error,
            "notification failed {MAX_ATTEMPTS} times; kept in the outbox as dead"),
    }
}

async fn blocking(
    f: impl FnOnce() -> crate::store::StoreResult<()> + Send + 'static,
) -> Result<(), String> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_base_up_to_the_cap() {
        assert_eq!(backoff_ms(1), 30_000);
        assert_eq!(backoff_ms(2), 60_000);
        assert_eq!(backoff_ms(3), 120_000);
        assert_eq!(backoff_ms(8), RETRY_MAX_MS);
        assert_eq!(backoff_ms(u32::MAX), RETRY_MAX_MS);
    }

    #[test]
    fn the_last_attempt_has_no_next() {
        assert_eq!(
            next_attempt(MAX_ATTEMPTS - 1, 0),
            Some(backoff_ms(MAX_ATTEMPTS - 1))
        );
        assert_eq!(next_attempt(MAX_ATTEMPTS, 0), None);
    }
}
