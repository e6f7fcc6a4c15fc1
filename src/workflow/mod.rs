//! The privileged-access workflow: policies, requests, approvals and grants, as a state machine
//! over the [`crate::store`] with an injected clock.
//!
//! ```text
//! request ──auto policy──────────────────────────────▶ approved (grant)
//!    │                                                    │ revoke / grant expiry
//!    └─manual─▶ pending ──approve (approver, not self)──▶ ┘──▶ revoked
//!                  ├──deny──▶ denied
//!                  └──pending_expiry_hours──▶ expired
//! ```
//!
//! Every step runs in this order: validate, then one store transaction that writes the rows,
//! queues the notifications and, last before the commit, writes the audit record (which can
//! therefore name the new request, grant or policy id); a refused record rolls it all back
//! (fail closed). Then update the live state and answer. So whatever is acknowledged is
//! durable, audited, and already in force.

mod audit_hook;
mod decisions;
pub mod dev;
mod error;
mod hooks;
pub mod live;
mod policies;
mod requests;
pub mod runtime;
mod step_audit;
pub mod task;

pub use audit_hook::to_audit_event;
pub use decisions::SYSTEM_ACTOR;
pub use error::{ErrorKind, WorkflowError};
pub use hooks::{AuditHook, BoxFuture, LiveState, RecordingAudit, RecordingLive, WorkflowEvent};
pub use policies::PolicyInput;
pub use requests::{check_request_id, Decision, RequestInput};

use crate::clock::SharedClock;
use crate::config::Config;
use crate::policy::record::PolicyRecord;
use crate::store::Store;
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

/// Longest reason or comment accepted.
pub const MAX_TEXT_CHARS: usize = 2_000;

/// The workflow's settings, taken from the config file.
#[derive(Debug, Clone, Default)]
pub struct WorkflowSettings {
    pub pending_expiry_hours: u32,
    pub default_hours: u32,
    pub require_reason: bool,
    /// `[groups]`, members lower-cased.
    pub groups: BTreeMap<String, Vec<String>>,
    /// `[roles]`.
    pub roles: BTreeMap<String, Vec<String>>,
    /// `[[policy]]` tables (ids `C-n`), read-only through the API.
    pub config_policies: Vec<PolicyRecord>,
    /// Lower-case principal -> e-mail address, from `[users]`.
    pub emails: BTreeMap<String, String>,
    /// Whether `[notify.smtp]` is set (mails are queued only then).
    pub smtp: bool,
    /// Whether `[notify.webhook]` is set (each step then also posts there).
    pub webhook: bool,
    /// `[workflow] policy_admins`: the group allowed to create and remove policies and to revoke
    /// any grant; `None` lets every admin-API principal manage policies.
    pub policy_admins: Option<String>,
}

impl WorkflowSettings {
    pub fn from_config(c: &Config) -> Result<WorkflowSettings, String> {
        if let Some(g) = &c.workflow.policy_admins {
            if !c.groups.contains_key(g) {
                return Err(format!(
                    "workflow.policy_admins: group {g:?} is not defined under [groups]"
                ));
            }
        }
        let lower = |v: &Vec<String>| v.iter().map(|m| m.to_lowercase()).collect();
        Ok(WorkflowSettings {
            pending_expiry_hours: c.workflow.pending_expiry_hours,
            default_hours: c.workflow.default_hours,
            require_reason: c.workflow.require_reason,
            groups: c
                .groups
                .iter()
                .map(|(k, v)| (k.clone(), lower(v)))
                .collect(),
            roles: c.roles.clone(),
            config_policies: task::config_policy_records(c),
            emails: c
                .users
                .iter()
                .map(|(k, u)| (k.to_lowercase(), u.email.clone()))
                .collect(),
            smtp: c.notify.smtp.is_some(),
            webhook: c.notify.webhook.is_some(),
            policy_admins: c.workflow.policy_admins.clone(),
        })
    }

    /// Whether `principal` is a member of `group`.
    pub fn in_group(&self, group: &str, principal: &str) -> bool {
        self.groups
            .get(group)
            .is_some_and(|m| m.iter().any(|p| p == principal))
    }
}

/// The workflow engine. Cheap to share: wrap it in an `Arc`.
pub struct Workflow {
    store: Arc<dyn Store>,
    clock: SharedClock,
    audit: Arc<dyn AuditHook>,
    live: Arc<dyn LiveState>,
    /// Replaced whole by a config reload; each step reads one snapshot.
    settings: RwLock<Arc<WorkflowSettings>>,
    /// Woken after a commit that queued notifications, so the outbox worker sends at once.
    outbox_wake: Arc<tokio::sync::Notify>,
}

impl Workflow {
    pub fn new(
        store: Arc<dyn Store>,
        clock: SharedClock,
        audit: Arc<dyn AuditHook>,
        live: Arc<dyn LiveState>,
        settings: WorkflowSettings,
    ) -> Workflow {
        Workflow {
            store,
            clock,
            audit,
            live,
            settings: RwLock::new(Arc::new(settings)),
            outbox_wake: Arc::new(tokio::sync::Notify::new()),
        }
    }

    /// The settings in force now (a snapshot: a reload does not change it under a caller).
    pub fn settings(&self) -> Arc<WorkflowSettings> {
        self.settings
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// A reload: approver groups, roles, config-file policies, users' addresses and the
    /// workflow timings take effect for the next step. Whether mail and webhooks are set up is
    /// kept, because their senders start with the process.
    pub fn reload_settings(&self, mut next: WorkflowSettings) {
        let mut slot = self.settings.write().unwrap_or_else(|p| p.into_inner());
        next.smtp = slot.smtp;
        next.webhook = slot.webhook;
        *slot = Arc::new(next);
    }
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }
    /// The signal the outbox worker waits on.
    pub fn outbox_wake(&self) -> Arc<tokio::sync::Notify> {
        self.outbox_wake.clone()
    }

    /// At start: push every policy and every live grant from the store into the live state,
    /// so `decide()` sees exactly what was acknowledged before the restart.
    pub async fn restore_live_state(&self) -> Result<usize, WorkflowError> {
        let now = self.clock.now_ms();
        let grants = self.blocking(move |s| s.list_active_grants(now)).await?;
        let policies = self.list_policies().await?;
        self.live.policies_changed(&policies);
        for g in &grants {
            self.live.grant_added(g);
        }
        Ok(grants.len())
    }

    /// Whether the store answers (`/readyz`).
    pub async fn ready(&self) -> Result<(), WorkflowError> {
        self.blocking(|s| s.ping()).await
    }

    /// Run a store call off the async runtime.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Store) -> crate::store::StoreResult<T> + Send + 'static,
    ) -> Result<T, WorkflowError> {
        let store = self.store.clone();
        let joined = tokio::task::spawn_blocking(move || f(store.as_ref())).await;
        let result = joined.map_err(|e| {
            WorkflowError::new(ErrorKind::Unavailable, "store_unavailable", e.to_string())
        })?;
        Ok(result?)
    }

    fn event(&self, action: &'static str, actor: &str, subject: Option<&str>) -> WorkflowEvent {
        WorkflowEvent {
            action,
            actor: actor.to_string(),
            subject: subject.map(str::to_string),
            grant: None,
            at_ms: self.clock.now_ms(),
            detail: serde_json::Value::Null,
        }
    }
}

#[cfg(test)]
mod tests;
