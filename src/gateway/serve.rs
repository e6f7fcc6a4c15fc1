//! Building the gateway from the config file, for `serve`.
//!
//! The live state is loaded from the store before the listener opens: stored policies after
//! the config file's (`C-n` first), and every grant live now, so `decide()` sees exactly what
//! was acknowledged before a restart. The workflow, once connected, keeps it current through
//! [`crate::workflow::LiveState`], which [`GatewayState`] implements.

use super::audit::DecisionAudit;
use super::state::{GatewayState, PolicyInputs};
use crate::audit::AuditLog;
use crate::clock::SharedClock;
use crate::config::Config;
use crate::grants::Grants;
use crate::inspect::Inspector;
use crate::ratelimit::RateLimiter;
use crate::store::{SqliteStore, Store};
use std::sync::Arc;

/// The state and the audit log it writes to (keep the log to close it on shutdown).
pub struct Built {
    pub state: Arc<GatewayState>,
    pub audit: Arc<AuditLog>,
}

/// Open the audit log and the store, load policies and live grants, compile everything.
pub fn build(config: &Config, clock: SharedClock) -> Result<Built, String> {
    let limits = RateLimiter::new(&config.ratelimit, clock.clone())
        .map_err(|e| format!("{}: {}", e.key, e.message))?;
    build_with_limits(config, clock, Arc::new(limits))
}

/// [`build`] with a rate limiter the caller keeps (to reload it and to read its status).
pub fn build_with_limits(
    config: &Config,
    clock: SharedClock,
    limits: Arc<RateLimiter>,
) -> Result<Built, String> {
    let now = clock.now_ms();
    let store = SqliteStore::open(&config.store.path)
        .map_err(|e| format!("store {}: {e}", config.store.path.display()))?;
    let mut records = crate::workflow::task::config_policy_records(config);
    let stored = store.list_policies().map_err(|e| {
        format!(
            "store {}: listing policies: {e}",
            config.store.path.display()
        )
    })?;
    records.extend(stored);
    let grants = Arc::new(Grants::new());
    let live = store
        .list_active_grants(now)
        .map_err(|e| format!("store {}: listing grants: {e}", config.store.path.display()))?;
    for g in live {
        grants.insert(g).map_err(|e| format!("store: {e}"))?;
    }
    let audit = Arc::new(
        AuditLog::open(&config.audit, clock.clone())
            .map_err(|e| format!("audit log {}: {e}", config.audit.path.display()))?,
    );
    let state = GatewayState::new(
        Inspector::new(config.inspect.clone()),
        PolicyInputs::from_config(config),
        &records,
        grants,
        limits,
        audit.clone() as Arc<dyn DecisionAudit>,
        clock,
    );
    if let Err(e) = state.policies() {
        return Err(format!("policies: {e}"));
    }
    Ok(Built {
        state: Arc::new(state),
        audit,
    })
}

/// How often expired grants are dropped from the live map. Expiry itself is exact (checked
/// against the clock on every decision); this only gives the memory back.
pub const SWEEP_INTERVAL_MS: u64 = 60_000;

/// Drop expired grants every [`SWEEP_INTERVAL_MS`], until the runtime stops.
pub fn spawn_sweeper(state: Arc<GatewayState>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(SWEEP_INTERVAL_MS));
        loop {
            tick.tick().await;
            let expired = state.grants.sweep(state.clock.now_ms());
            if !expired.is_empty() {
                tracing::info!(count = expired.len(), "expired grants dropped");
            }
        }
    });
}
