//! Writing a step's audit records from inside the store transaction, once the store has
//! numbered the request, grant or policy they name (see [`crate::store::AuditRequest`]).
//!
//! The store runs on a blocking thread (`spawn_blocking`), so the async [`AuditHook`] is
//! driven there with [`Handle::block_on`]. The hooks in use (the audit log's channel to its
//! writer thread, the in-memory recorder) need no I/O driver, so this also works on a
//! current-thread runtime.
//!
//! The records are written before the commit, so a commit that then fails leaves records of a
//! step that never happened. [`Workflow::settle`] answers each with a `step.rolled_back` record.

use super::error::{ErrorKind, WorkflowError};
use super::hooks::{AuditHook, WorkflowEvent};
use super::Workflow;
use crate::clock::rfc3339;
use crate::grants::record::GrantRecord;
use crate::grants::record::GrantScope;
use crate::policy::record::PolicyRecord;
use crate::store::{AuditGrant, AuditPolicy, AuditRequest, RequestRecord};
use std::sync::{Arc, Mutex};
use tokio::runtime::Handle;

/// The action of the record that takes back a step whose commit failed.
pub(super) const ROLLBACK_ACTION: &str = "step.rollback";

/// The records a step wrote inside its transaction, so a failed commit can be answered with
/// a record that takes each back.
pub(super) type Written = Arc<Mutex<Vec<WorkflowEvent>>>;

/// The audit hook, callable from the store's blocking thread.
struct BlockingAudit {
    hook: Arc<dyn AuditHook>,
    runtime: Handle,
    written: Written,
}

impl BlockingAudit {
    /// Write `events` in order; the first refusal stops the step.
    fn write(&self, events: Vec<WorkflowEvent>) -> Result<(), String> {
        events.into_iter().try_for_each(|e| {
            self.runtime.block_on(self.hook.record(e.clone()))?;
            lock(&self.written).push(e);
            Ok(())
        })
    }
}

fn lock(written: &Written) -> std::sync::MutexGuard<'_, Vec<WorkflowEvent>> {
    written.lock().unwrap_or_else(|p| p.into_inner())
}

/// The events a request change records, built from the request and grant as committed.
pub(super) type RequestEvents =
    dyn Fn(&RequestRecord, Option<&GrantRecord>) -> Vec<WorkflowEvent> + Send + Sync;

impl Workflow {
    /// The store call's result, after taking back in the audit log every record the step
    /// wrote if the call then failed (its transaction rolled back, so the step never happened).
    async fn settle<T>(
        &self,
        written: Written,
        result: Result<T, WorkflowError>,
    ) -> Result<T, WorkflowError> {
        let Err(err) = result else { return result };
        let taken = std::mem::take(&mut *lock(&written));
        for e in taken {
            let mut back = e.clone();
            back.action = ROLLBACK_ACTION;
            back.at_ms = self.clock.now_ms();
            back.detail = serde_json::json!({
                "policy": e.detail.get("policy"),
                "reason": format!(
                    "{} was not committed ({}); the ids it named may be given out again",
                    e.action, err.message
                ),
            });
            if let Err(audit_err) = self.audit.record(back).await {
                tracing::error!(step = e.action, error = %audit_err,
                    "a rolled-back step could not be taken back in the audit log");
            }
        }
        Err(err)
    }

    /// Run a store call that writes audit records, then [`Workflow::settle`] its result.
    pub(super) async fn blocking_audited<T: Send + 'static>(
        &self,
        written: Written,
        f: impl FnOnce(&dyn crate::store::Store) -> crate::store::StoreResult<T> + Send + 'static,
    ) -> Result<T, WorkflowError> {
        let result = self.blocking(f).await;
        self.settle(written, result).await
    }

    fn blocking_audit(&self) -> Result<BlockingAudit, WorkflowError> {
        let runtime = Handle::try_current().map_err(|e| {
            WorkflowError::new(
                ErrorKind::Unavailable,
                "audit_unavailable",
                format!("the workflow runs outside the async runtime ({e}); nothing was changed"),
            )
        })?;
        Ok(BlockingAudit {
            hook: self.audit.clone(),
            runtime,
            written: Written::default(),
        })
    }

    /// Records `event` naming the request and the grant it made or ended.
    pub(super) fn audit_request(
        &self,
        event: WorkflowEvent,
    ) -> Result<(Box<AuditRequest>, Written), WorkflowError> {
        self.audit_request_with(Box::new(move |r, g| vec![naming(&event, r, g)]))
    }

    /// Records whatever `events` builds from the committed request and grant.
    pub(super) fn audit_request_with(
        &self,
        events: Box<RequestEvents>,
    ) -> Result<(Box<AuditRequest>, Written), WorkflowError> {
        let audit = self.blocking_audit()?;
        let written = audit.written.clone();
        Ok((Box::new(move |r, g| audit.write(events(r, g))), written))
    }

    /// Records `event` naming the policy created or removed.
    pub(super) fn audit_policy(
        &self,
        event: WorkflowEvent,
    ) -> Result<(Box<AuditPolicy>, Written), WorkflowError> {
        let audit = self.blocking_audit()?;
        let written = audit.written.clone();
        let write = Box::new(move |p: &PolicyRecord| {
            let mut e = event.clone();
            e.subject = Some(p.id.clone());
            audit.write(vec![e])
        });
        Ok((write, written))
    }

    /// Records `event` for a grant that ran out, naming the grant, its request and holder.
    pub(super) fn audit_grant_end(
        &self,
        event: WorkflowEvent,
    ) -> Result<(Box<AuditGrant>, Written), WorkflowError> {
        let audit = self.blocking_audit()?;
        let written = audit.written.clone();
        let write = Box::new(move |g: &GrantRecord| {
            let scope = match &g.scope {
                GrantScope::Task(t) => t.clone(),
                GrantScope::Role(r) => format!("role {r}"),
            };
            let mut e = event.clone();
            e.subject = Some(g.request_id.clone());
            e.grant = Some(g.id.clone());
            e.detail = serde_json::json!({
                "task": scope, "policy": g.policy_id, "approver": g.approver,
                "reason": format!("{}'s grant ended at {}", g.principal, rfc3339(g.expires_at_ms)),
            });
            audit.write(vec![e])
        });
        Ok((write, written))
    }
}

/// `event` naming the committed request and its grant.
pub(super) fn naming(
    event: &WorkflowEvent,
    r: &RequestRecord,
    g: Option<&GrantRecord>,
) -> WorkflowEvent {
    let mut e = event.clone();
    e.subject = Some(r.id.clone());
    e.grant = g.map(|g| g.id.clone());
    e
}
