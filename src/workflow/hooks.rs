//! What the workflow needs from the rest of the gateway, as small traits the integrator
//! connects: the audit log (written BEFORE a step takes effect) and the live state read by
//! `decide()` (the grants map and the compiled policies).

use crate::clock::Millis;
use crate::grants::record::GrantRecord;
use crate::policy::record::PolicyRecord;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One workflow step, as the audit log records it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct WorkflowEvent {
    /// `policy.create`, `policy.remove`, `request.create`, `request.approve`, `request.deny`,
    /// `request.expire`, `request.revoke`, `grant.expire`.
    pub action: &'static str,
    /// The authenticated principal (`system` for timed expiry).
    pub actor: String,
    /// `R-<n>` / `P-<n>`. The store numbers a new subject inside its transaction, and the
    /// event is recorded there, so a recorded event always names it.
    pub subject: Option<String>,
    /// The grant the step made (approval) or ended (revocation), `G-<n>`.
    pub grant: Option<String>,
    pub at_ms: Millis,
    /// The step's inputs (task, hours, reason, comment, policy).
    pub detail: serde_json::Value,
}

/// The audit log. A step whose event cannot be recorded does not happen (fail closed).
pub trait AuditHook: Send + Sync + 'static {
    fn record(&self, event: WorkflowEvent) -> BoxFuture<'_, Result<(), String>>;
}

/// The state `decide()` reads. Called synchronously after the store commit and before the
/// API answers, so a revoke takes effect on the very next call.
pub trait LiveState: Send + Sync + 'static {
    fn grant_added(&self, grant: &GrantRecord);
    fn grant_revoked(&self, grant: &GrantRecord);
    /// Every policy now in force (config-file and stored), after a create or remove.
    fn policies_changed(&self, all: &[PolicyRecord]);
}

/// An audit hook that keeps events in memory: for tests and for `dev` without an audit file.
#[derive(Debug, Default)]
pub struct RecordingAudit {
    pub events: Mutex<Vec<WorkflowEvent>>,
    /// When set, every `record` fails with this message (to test failing closed).
    pub fail_with: Mutex<Option<String>>,
    /// When set, only the record that would be number N (0-based) fails, once.
    pub fail_record_number: Mutex<Option<usize>>,
}

impl RecordingAudit {
    pub fn actions(&self) -> Vec<&'static str> {
        let events = self.events.lock().map(|e| e.clone()).unwrap_or_default();
        events.iter().map(|e| e.action).collect()
    }

    /// Each event as `"<action> <subject>[ <grant>]"` (e.g. `"request.approve R-1 G-1"`), to
    /// check that every record names the ids the store gave.
    pub fn named(&self) -> Vec<String> {
        let events = self.events.lock().map(|e| e.clone()).unwrap_or_default();
        events
            .iter()
            .map(|e| {
                let subject = e.subject.as_deref().unwrap_or("-");
                match &e.grant {
                    Some(g) => format!("{} {subject} {g}", e.action),
                    None => format!("{} {subject}", e.action),
                }
            })
            .collect()
    }
}

impl AuditHook for RecordingAudit {
    fn record(&self, event: WorkflowEvent) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            if let Some(msg) = self.fail_with.lock().map_err(|e| e.to_string())?.clone() {
                return Err(msg);
            }
            let mut events = self.events.lock().map_err(|e| e.to_string())?;
            let mut fail = self.fail_record_number.lock().map_err(|e| e.to_string())?;
            if *fail == Some(events.len()) {
                *fail = None;
                return Err(format!("record {} refused", events.len()));
            }
            events.push(event);
            Ok(())
        })
    }
}

/// Live state kept in plain collections: for tests, and until the grants map is connected.
#[derive(Debug, Default)]
pub struct RecordingLive {
    pub grants: Mutex<Vec<GrantRecord>>,
    pub policies: Mutex<Vec<PolicyRecord>>,
}

impl RecordingLive {
    pub fn grant_ids(&self) -> Vec<String> {
        let grants = self.grants.lock().map(|g| g.clone()).unwrap_or_default();
        grants.into_iter().map(|g| g.id).collect()
    }
}

impl LiveState for RecordingLive {
    fn grant_added(&self, grant: &GrantRecord) {
        if let Ok(mut g) = self.grants.lock() {
            g.push(grant.clone());
        }
    }
    fn grant_revoked(&self, grant: &GrantRecord) {
        if let Ok(mut g) = self.grants.lock() {
            g.retain(|x| x.id != grant.id);
        }
    }
    fn policies_changed(&self, all: &[PolicyRecord]) {
        if let Ok(mut p) = self.policies.lock() {
            *p = all.to_vec();
        }
    }
}
