//! Writing a step's audit records from inside the store transaction, once the store has
//! numbered the request, grant or policy they name (see [`crate::store::AuditRequest`]).
//!
//! The store runs on a blocking thread (`spawn_blocking`), so the async [`AuditHook`] is
//! driven there with [`Handle::block_on`]. The hooks in use (the audit log's channel to its
//! writer thread, the in-memory recorder) need no I/O driver, so this also works on a
//! current-thread runtime.

use super::error::{ErrorKind, WorkflowError};
use super::hooks::{AuditHook, WorkflowEvent};
use super::Workflow;
use crate::clock::rfc3339;
use crate::grants::record::GrantRecord;
use crate::grants::record::GrantScope;
use crate::policy::record::PolicyRecord;
use crate::store::{AuditGrant, AuditPolicy, AuditRequest, RequestRecord};
use std::sync::Arc;
use tokio::runtime::Handle;

/// The audit hook, callable from the store's blocking thread.
struct BlockingAudit {
    hook: Arc<dyn AuditHook>,
    runtime: Handle,
}

impl BlockingAudit {
    /// Write `events` in order; the first refusal stops the step.
    fn write(&self, events: Vec<WorkflowEvent>) -> Result<(), String> {
        events
            .into_iter()
            .try_for_each(|e| self.runtime.block_on(self.hook.record(e)))
    }
}

/// The events a request change records, built from the request and grant as committed.
pub(super) type RequestEvents =
    dyn Fn(&RequestRecord, Option<&GrantRecord>) -> Vec<WorkflowEvent> + Send + Sync;

impl Workflow {
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
        })
    }

    /// Records `event` naming the request and the grant it made or ended.
    pub(super) fn audit_request(
        &self,
        event: WorkflowEvent,
    ) -> Result<Box<AuditRequest>, WorkflowError> {
        self.audit_request_with(Box::new(move |r, g| vec![naming(&event, r, g)]))
    }

    /// Records whatever `events` builds from the committed request and grant.
    pub(super) fn audit_request_with(
        &self,
        events: Box<RequestEvents>,
    ) -> Result<Box<AuditRequest>, WorkflowError> {
        let audit = self.blocking_audit()?;
        Ok(Box::new(move |r, g| audit.write(events(r, g))))
    }

    /// Records `event` naming the policy created or removed.
    pub(super) fn audit_policy(
        &self,
        event: WorkflowEvent,
    ) -> Result<Box<AuditPolicy>, WorkflowError> {
        let audit = self.blocking_audit()?;
        Ok(Box::new(move |p: &PolicyRecord| {
            let mut e = event.clone();
            e.subject = Some(p.id.clone());
            audit.write(vec![e])
        }))
    }

    /// Records `event` for a grant that ran out, naming the grant, its request and holder.
    pub(super) fn audit_grant_end(
        &self,
        event: WorkflowEvent,
    ) -> Result<Box<AuditGrant>, WorkflowError> {
        let audit = self.blocking_audit()?;
        Ok(Box::new(move |g: &GrantRecord| {
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
        }))
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
