//! Starting the control path inside the daemon: open the store, rebuild the live state from it,
//! run the outbox worker and the pending-request expiry timer, and serve the admin API.

use super::{AuditHook, LiveState, Workflow, WorkflowSettings};
use crate::admin::{self, auth::TokenSet, AdminApi};
use crate::clock::SharedClock;
use crate::config::Config;
use crate::notify::{outbox::OutboxWorker, Notifier};
use crate::store::SqliteStore;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How often pending requests are checked for expiry and ended grants are recorded (both
/// take effect by the clock; the tick only bounds how late the record is written).
pub const EXPIRY_TICK: Duration = Duration::from_secs(30);

/// The running control path.
pub struct ControlPlane {
    pub workflow: Arc<Workflow>,
    /// Where the admin API listens, when `[admin]` is configured.
    pub admin_addr: Option<SocketAddr>,
    /// Grants put back into the live state from the store at start.
    pub restored_grants: usize,
}

/// Resolves when `shutdown` turns true.
async fn stopped(mut shutdown: watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// Start everything; background tasks stop when `shutdown` turns true. `routes` mounts extra
/// admin routes (`/metrics`, `/v1/ratelimit`, `/v1/reload`).
pub async fn start(
    config: &Config,
    clock: SharedClock,
    audit: Arc<dyn AuditHook>,
    live: Arc<dyn LiveState>,
    routes: impl FnOnce(AdminApi) -> AdminApi,
    shutdown: watch::Receiver<bool>,
) -> Result<ControlPlane, String> {
    let settings = WorkflowSettings::from_config(config)?;
    let path = config.store.path.clone();
    let store = tokio::task::spawn_blocking(move || SqliteStore::open(&path))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("store: {e}"))?;
    let store = Arc::new(store);
    let workflow = Arc::new(Workflow::new(
        store.clone(),
        clock.clone(),
        audit,
        live,
        settings,
    ));
    let restored_grants = workflow
        .restore_live_state()
        .await
        .map_err(|e| format!("rebuilding grants from the store: {e}"))?;

    let worker = OutboxWorker {
        store,
        deliver: Arc::new(Notifier::from_config(&config.notify)?),
        clock,
    };
    tokio::spawn(worker.run(workflow.outbox_wake(), stopped(shutdown.clone())));
    tokio::spawn(expiry_timer(workflow.clone(), shutdown.clone()));

    let admin_addr = match &config.admin {
        None => None,
        Some(a) => {
            let tls = admin::tls::from_config(a, &config.listen)?;
            let listener = tokio::net::TcpListener::bind(a.addr)
                .await
                .map_err(|e| format!("admin.addr {}: cannot listen: {e}", a.addr))?;
            let addr = listener.local_addr().map_err(|e| e.to_string())?;
            let api = routes(AdminApi::new(
                workflow.clone(),
                TokenSet::from_config(&a.token),
            ));
            tokio::spawn(admin::serve(
                listener,
                Arc::new(tls),
                Arc::new(api),
                stopped(shutdown),
            ));
            Some(addr)
        }
    };
    Ok(ControlPlane {
        workflow,
        admin_addr,
        restored_grants,
    })
}

async fn expiry_timer(workflow: Arc<Workflow>, shutdown: watch::Receiver<bool>) {
    let stop = stopped(shutdown);
    tokio::pin!(stop);
    loop {
        match workflow.expire_due().await {
            Ok(expired) if !expired.is_empty() => {
                tracing::info!(target: "workflow", count = expired.len(), "pending requests expired");
            }
            Ok(_) => {}
            Err(e) => {
                tracing::error!(target: "workflow", error = %e, "expiring pending requests failed")
            }
        }
        match workflow.record_grant_expiries().await {
            Ok(ended) if !ended.is_empty() => {
                tracing::info!(target: "workflow", count = ended.len(), "grant expiries recorded");
            }
            Ok(_) => {}
            Err(e) => {
                tracing::error!(target: "workflow", error = %e, "recording grant expiries failed; retried on the next tick")
            }
        }
        tokio::select! {
            _ = &mut stop => return,
            _ = tokio::time::sleep(EXPIRY_TICK) => {}
        }
    }
}
