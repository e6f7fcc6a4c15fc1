//! Reloading the config file without a restart (SIGHUP or `POST /v1/reload`).
//!
//! A valid file replaces `[pam]`, `[roles]`, `[groups]`, the config-file policies (stored ones
//! kept) and the rate limits (unchanged rules keep their counters), for `decide()` and for the
//! workflow alike (approver groups, `[users]` addresses, `[workflow]` timings); connections stay
//! open.
//! An invalid file changes nothing: the error (naming the key, and the line where TOML gives
//! one) is logged, audited as `config.rejected` and returned.

use crate::admin::{json, Handler};
use crate::audit::{AuditEvent, AuditLog, EventKind};
use crate::config::Config;
use crate::gateway::{GatewayState, PolicyInputs};
use crate::metrics::Metrics;
use crate::ratelimit::{RateLimiter, ReloadSummary};
use crate::workflow::{Workflow, WorkflowSettings};
use http::StatusCode;
use serde::Serialize;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use tokio::sync::watch;

/// The admin route that reloads the config file.
pub const RELOAD_PATH: &str = "/v1/reload";

/// What a reload did, as `/v1/reload` answers it.
#[derive(Debug, Clone, Serialize)]
pub struct ReloadOutcome {
    pub applied: bool,
    pub ratelimit: Option<ReloadSummary>,
    pub policies: usize,
    pub error: Option<String>,
}

/// What a reload touches.
#[derive(Clone)]
pub(super) struct Parts {
    pub path: Option<PathBuf>,
    pub state: Arc<GatewayState>,
    pub limiter: Arc<RateLimiter>,
    pub audit: Arc<AuditLog>,
    pub metrics: Metrics,
    /// Set once the control plane runs (stored policies come from its store).
    pub workflow: Arc<OnceLock<Arc<Workflow>>>,
}

impl Parts {
    /// Re-read the file and apply it, or keep the old config; audited either way.
    pub async fn reload(&self) -> ReloadOutcome {
        let outcome = match self.apply().await {
            Ok(o) => o,
            Err(error) => ReloadOutcome {
                applied: false,
                ratelimit: None,
                policies: 0,
                error: Some(error),
            },
        };
        self.metrics.config_reload(outcome.applied);
        let event = match &outcome.error {
            None => {
                let rl = outcome.ratelimit.clone().unwrap_or_default();
                tracing::info!(%rl, policies = outcome.policies, "config reloaded");
                AuditEvent::new(EventKind::ConfigReloaded)
                    .with_reason(format!("{} policies; {rl}", outcome.policies))
            }
            Some(e) => {
                tracing::error!(error = %e, "config reload rejected; the old config stays");
                AuditEvent::new(EventKind::ConfigRejected).with_reason(e.clone())
            }
        };
        if let Err(e) = self.audit.append(event).await {
            tracing::error!(error = %e, "config reload not audited");
        }
        outcome
    }

    async fn apply(&self) -> Result<ReloadOutcome, String> {
        let path = self.path.clone().ok_or_else(|| {
            "this gateway was started without a config file; nothing to reload".to_string()
        })?;
        let config = tokio::task::spawn_blocking(move || Config::load(&path))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        let settings = WorkflowSettings::from_config(&config)?;
        let records = self.records(&config).await?;
        let inputs = PolicyInputs::from_config(&config);
        inputs
            .compile(&records)
            .map_err(|e| format!("policies: {e}"))?;
        let summary = self
            .limiter
            .reload(&config.ratelimit)
            .map_err(|e| format!("{}: {}", e.key, e.message))?;
        self.state.set_inputs(inputs, &records);
        if let Some(w) = self.workflow.get() {
            w.reload_settings(settings);
        }
        Ok(ReloadOutcome {
            applied: true,
            ratelimit: Some(summary),
            policies: records.len(),
            error: None,
        })
    }

    /// The config file's policies then the stored ones, as at start.
    async fn records(
        &self,
        config: &Config,
    ) -> Result<Vec<crate::policy::record::PolicyRecord>, String> {
        let mut records = crate::workflow::task::config_policy_records(config);
        if let Some(w) = self.workflow.get() {
            let store = w.store().clone();
            let stored = tokio::task::spawn_blocking(move || store.list_policies())
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| format!("store: listing policies: {e}"))?;
            records.extend(stored);
        }
        Ok(records)
    }

    /// `POST /v1/reload`: 200 with the summary, or 400 with the error (old config kept).
    pub fn route(&self) -> Handler {
        let parts = self.clone();
        Arc::new(move |_call| {
            let parts = parts.clone();
            Box::pin(async move {
                let outcome = parts.reload().await;
                match &outcome.error {
                    None => json(StatusCode::OK, &outcome),
                    Some(e) => json(
                        StatusCode::BAD_REQUEST,
                        &serde_json::json!({"error": {"code": "config_rejected", "message": e}}),
                    ),
                }
            })
        })
    }
}

/// Reload on every SIGHUP until shutdown (Unix only).
pub(super) fn spawn_sighup(parts: Parts, shutdown: watch::Receiver<bool>) {
    #[cfg(unix)]
    tokio::spawn(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let Ok(mut hup) = signal(SignalKind::hangup()) else {
            tracing::error!("cannot listen for SIGHUP; reload with POST /v1/reload");
            return;
        };
        let stop = super::stopped(shutdown);
        tokio::pin!(stop);
        loop {
            tokio::select! {
                _ = &mut stop => return,
                Some(()) = hup.recv() => { parts.reload().await; }
            }
        }
    });
    #[cfg(not(unix))]
    drop((parts, shutdown));
}
