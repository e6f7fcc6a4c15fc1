//! Decisions on a request: approve, deny, revoke, and the timed expiry of pending requests.

use super::error::{ErrorKind, WorkflowError};
use super::requests::{check_request_id, expired_message, transition, Decision};
use super::task::Task;
use super::{Workflow, MAX_TEXT_CHARS};
use crate::clock::rfc3339;
use crate::grants::record::GrantRecord;
use crate::store::{RequestRecord, RequestState, MAX_LIST_ROWS};

/// Who acts when a pending request runs out of time.
pub const SYSTEM_ACTOR: &str = "system";

fn check_comment(comment: Option<String>) -> Result<Option<String>, WorkflowError> {
    let comment = comment
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty());
    if comment
        .as_ref()
        .is_some_and(|c| c.chars().count() > MAX_TEXT_CHARS)
    {
        return Err(WorkflowError::bad_input(
            "comment",
            "too_long",
            format!("comment is longer than {MAX_TEXT_CHARS} characters"),
        ));
    }
    Ok(comment)
}

impl Workflow {
    /// Load a request that must still be pending; one past its expiry is expired now.
    async fn pending(&self, id: &str) -> Result<RequestRecord, WorkflowError> {
        let r = self.get_request(id).await?;
        if r.state != RequestState::Pending {
            return Err(WorkflowError::new(
                ErrorKind::Conflict,
                "wrong_state",
                format!(
                    "{} is already {}; only pending requests can be decided",
                    r.id, r.state
                ),
            ));
        }
        if self.clock.now_ms() >= r.pending_expires_at_ms {
            self.expire(&r).await?;
            return Err(WorkflowError::new(
                ErrorKind::Conflict,
                "expired",
                expired_message(&r),
            ));
        }
        Ok(r)
    }

    /// An approver must be in the request's approver group and must not be its requester.
    fn check_approver(&self, r: &RequestRecord, actor: &str) -> Result<(), WorkflowError> {
        if actor == r.requester {
            return Err(WorkflowError::new(
                ErrorKind::Forbidden,
                "self_approval",
                format!("Self-approval is not allowed: {actor} filed {}; another member of {:?} must decide", r.id, r.approvers),
            ));
        }
        if !self.settings().in_group(&r.approvers, actor) {
            return Err(WorkflowError::new(
                ErrorKind::Forbidden,
                "not_an_approver",
                format!(
                    "{actor} is not in the approver group {:?} of {}",
                    r.approvers, r.id
                ),
            ));
        }
        Ok(())
    }

    /// Approve a pending request: the grant starts now and is in force before this returns.
    pub async fn approve(
        &self,
        actor: &str,
        id: &str,
        comment: Option<String>,
    ) -> Result<Decision, WorkflowError> {
        let actor = actor.to_lowercase();
        check_request_id(id)?;
        let comment = check_comment(comment)?;
        let r = self.pending(id).await?;
        self.check_approver(&r, &actor)?;
        let mut event = self.event("request.approve", &actor, Some(&r.id));
        event.detail = serde_json::json!({
            "comment": comment, "task": r.task, "hours": r.hours, "policy": r.policy_id,
        });
        let (audit, written) = self.audit_request(event)?;
        let now = self.clock.now_ms();
        let task = Task::split(&r.task).ok_or_else(|| {
            WorkflowError::new(
                ErrorKind::Conflict,
                "invalid_task",
                format!("{} names no valid task", r.id),
            )
        })?;
        let mut t = transition(&r, RequestState::Approved, &actor, comment, now);
        t.grant = Some(self.new_grant(&r.requester, &task, &r.policy_id, r.hours, &actor, now));
        let notices = self.notice_builder(now);
        let (request, grant) = self
            .blocking_audited(written, move |s| s.transition(t, &*notices, &*audit))
            .await?;
        if let Some(g) = &grant {
            self.live.grant_added(g);
        }
        self.outbox_wake.notify_one();
        Ok(Decision { request, grant })
    }

    /// Deny a pending request.
    pub async fn deny(
        &self,
        actor: &str,
        id: &str,
        comment: Option<String>,
    ) -> Result<Decision, WorkflowError> {
        let actor = actor.to_lowercase();
        check_request_id(id)?;
        let comment = check_comment(comment)?;
        let r = self.pending(id).await?;
        self.check_approver(&r, &actor)?;
        let mut event = self.event("request.deny", &actor, Some(&r.id));
        event.detail =
            serde_json::json!({"comment": comment, "task": r.task, "policy": r.policy_id});
        let (audit, written) = self.audit_request(event)?;
        let t = transition(
            &r,
            RequestState::Denied,
            &actor,
            comment,
            self.clock.now_ms(),
        );
        let notices = self.notice_builder(self.clock.now_ms());
        let (request, grant) = self
            .blocking_audited(written, move |s| s.transition(t, &*notices, &*audit))
            .await?;
        self.outbox_wake.notify_one();
        Ok(Decision { request, grant })
    }

    /// End an approved request's grant now. Allowed to the requester (dropping their own
    /// access early), the approver group, and the policy administrators.
    pub async fn revoke(&self, actor: &str, id: &str) -> Result<Decision, WorkflowError> {
        let actor = actor.to_lowercase();
        let r = self.get_request(id).await?;
        let settings = self.settings();
        let admin = settings
            .policy_admins
            .as_ref()
            .is_some_and(|g| settings.in_group(g, &actor));
        if !(actor == r.requester || admin || settings.in_group(&r.approvers, &actor)) {
            return Err(WorkflowError::new(
                ErrorKind::Forbidden,
                "not_allowed",
                format!("{actor} may not revoke {}: only its requester, the approver group {:?} or the policy administrators may", r.id, r.approvers),
            ));
        }
        if r.state != RequestState::Approved {
            return Err(WorkflowError::new(
                ErrorKind::Conflict,
                "wrong_state",
                format!(
                    "{} is {}; only approved requests can be revoked",
                    r.id, r.state
                ),
            ));
        }
        let mut event = self.event("request.revoke", &actor, Some(&r.id));
        event.detail = serde_json::json!({"task": r.task, "policy": r.policy_id});
        let (audit, written) = self.audit_request(event)?;
        let now = self.clock.now_ms();
        let mut t = transition(&r, RequestState::Revoked, &actor, None, now);
        t.revoke_grant = true;
        let notices = self.notice_builder(now);
        let (request, grant) = self
            .blocking_audited(written, move |s| s.transition(t, &*notices, &*audit))
            .await?;
        if let Some(g) = &grant {
            self.live.grant_revoked(g);
        }
        self.outbox_wake.notify_one();
        Ok(Decision { request, grant })
    }

    async fn expire(&self, r: &RequestRecord) -> Result<RequestRecord, WorkflowError> {
        let mut event = self.event("request.expire", SYSTEM_ACTOR, Some(&r.id));
        event.detail = serde_json::json!({
            "task": r.task, "policy": r.policy_id,
            "reason": format!("no decision by {}", rfc3339(r.pending_expires_at_ms)),
        });
        let (audit, written) = self.audit_request(event)?;
        let now = self.clock.now_ms();
        let t = transition(r, RequestState::Expired, SYSTEM_ACTOR, None, now);
        let notices = self.notice_builder(now);
        let (request, _) = self
            .blocking_audited(written, move |s| s.transition(t, &*notices, &*audit))
            .await?;
        self.outbox_wake.notify_one();
        Ok(request)
    }

    /// Record every grant that ran out (`grant.expired`), once each. The daemon calls this on
    /// the same timer as [`Workflow::expire_due`]. The grant already stopped working at its
    /// expiry (`decide()` checks the clock); this closes it in the history and the audit log.
    pub async fn record_grant_expiries(&self) -> Result<Vec<GrantRecord>, WorkflowError> {
        let now = self.clock.now_ms();
        let (audit, written) =
            self.audit_grant_end(self.event("grant.expire", SYSTEM_ACTOR, None))?;
        self.blocking_audited(written, move |s| {
            s.record_grant_ends(now, MAX_LIST_ROWS, &*audit)
        })
        .await
    }

    /// Expire every pending request whose time is up. The daemon calls this on a timer; it is
    /// idempotent, and a request decided meanwhile is skipped.
    pub async fn expire_due(&self) -> Result<Vec<RequestRecord>, WorkflowError> {
        let now = self.clock.now_ms();
        let mut expired = Vec::new();
        loop {
            let pending = self
                .blocking(|s| s.list_requests(Some(RequestState::Pending), MAX_LIST_ROWS))
                .await?;
            let due: Vec<_> = pending
                .into_iter()
                .filter(|r| r.pending_expires_at_ms <= now)
                .collect();
            if due.is_empty() {
                return Ok(expired);
            }
            for r in due {
                match self.expire(&r).await {
                    Ok(done) => expired.push(done),
                    Err(e) if e.code == "wrong_state" => continue,
                    Err(e) => return Err(e),
                }
            }
        }
    }
}
