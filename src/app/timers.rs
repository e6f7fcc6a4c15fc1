//! The daemon's periodic work: dropping expired grants, evicting idle rate-limit keys, and the
//! grant and pending-request gauges. Each stops with the daemon.

use super::stopped;
use crate::gateway::serve::SWEEP_INTERVAL_MS;
use crate::gateway::GatewayState;
use crate::metrics::Metrics;
use crate::ratelimit::{RateLimiter, CLEANUP_INTERVAL_MS};
use crate::store::{RequestState, MAX_LIST_ROWS};
use crate::workflow::Workflow;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How often the grant and pending-request gauges are refreshed.
pub const GAUGE_INTERVAL_MS: u64 = 5_000;

pub(super) fn spawn(
    state: &Arc<GatewayState>,
    limiter: &Arc<RateLimiter>,
    metrics: &Metrics,
    workflow: &Arc<Workflow>,
    shutdown: &watch::Receiver<bool>,
) {
    let s = state.clone();
    every(SWEEP_INTERVAL_MS, shutdown, move || {
        let expired = s.grants.sweep(s.clock.now_ms());
        if !expired.is_empty() {
            tracing::info!(count = expired.len(), "expired grants dropped");
        }
        async {}
    });
    let (l, s) = (limiter.clone(), state.clone());
    every(CLEANUP_INTERVAL_MS, shutdown, move || {
        l.cleanup(s.clock.now_ms());
        async {}
    });
    let (m, s, w) = (metrics.clone(), state.clone(), workflow.clone());
    every(GAUGE_INTERVAL_MS, shutdown, move || {
        let (m, s, w) = (m.clone(), s.clone(), w.clone());
        async move {
            let now = s.clock.now_ms();
            s.grants.sweep(now);
            m.set_active_grants(i64::try_from(s.grants.len()).unwrap_or(i64::MAX));
            let store = w.store().clone();
            let pending = tokio::task::spawn_blocking(move || {
                store.list_requests(Some(RequestState::Pending), MAX_LIST_ROWS)
            })
            .await;
            if let Ok(Ok(rows)) = pending {
                m.set_pending_requests(i64::try_from(rows.len()).unwrap_or(i64::MAX));
            }
        }
    });
}

/// Run `tick` every `interval_ms` until shutdown.
fn every<F, Fut>(interval_ms: u64, shutdown: &watch::Receiver<bool>, mut tick: F)
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let stop = stopped(shutdown.clone());
    tokio::spawn(async move {
        tokio::pin!(stop);
        let mut timer = tokio::time::interval(Duration::from_millis(interval_ms));
        loop {
            tokio::select! {
                _ = &mut stop => return,
                _ = timer.tick() => tick().await,
            }
        }
    });
}
