//! Requests and their decisions (`New-ElevatedAccessRequest`, `Approve-`/`Deny-ElevatedAccessRequest`,
//! revoke), timed expiry of pending requests, and the grants they produce.

use super::error::{ErrorKind, WorkflowError};
use super::step_audit::naming;
use super::task::{self, shorten, Task};
use super::{Workflow, MAX_TEXT_CHARS};
use crate::clock::{rfc3339, Millis};
use crate::config::ApprovalKind;
use crate::grants::record::{GrantRecord, GrantScope};
use crate::notify::compose;
use crate::store::{
    parse_id, Channel, NewGrant, NewRequest, OutboxMessage, RequestRecord, RequestState,
    Transition, MAX_LIST_ROWS,
};
use std::sync::Arc;

const HOUR_MS: i64 = 3_600_000;

/// The approver recorded for a request an auto policy approves.
pub const AUTO_APPROVER: &str = "auto";

/// A request as the admin API receives it.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestInput {
    pub task: Option<String>,
    pub reason: Option<String>,
    /// Signed and wide on purpose: a negative or huge value gets a precise error, not a parse
    /// failure.
    pub hours: Option<i64>,
}

/// A request with the grant it produced, as the API answers a create or a decision.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Decision {
    #[serde(flatten)]
    pub request: RequestRecord,
    pub grant: Option<GrantRecord>,
}

fn check_text(field: &'static str, text: &str) -> Result<(), WorkflowError> {
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(WorkflowError::bad_input(
            field,
            "too_long",
            format!("{field} is longer than {MAX_TEXT_CHARS} characters"),
        ));
    }
    Ok(())
}

/// `R-<n>`, or a precise 400.
pub fn check_request_id(id: &str) -> Result<(), WorkflowError> {
    match parse_id('R', id) {
        Some(_) => Ok(()),
        None => Err(WorkflowError::bad_input(
            "id",
            "malformed_id",
            format!("{:?} is not a request id; ids look like R-1", shorten(id)),
        )),
    }
}

impl Workflow {
    fn validate_hours(
        &self,
        hours: Option<i64>,
        max: u32,
        policy: &str,
    ) -> Result<u32, WorkflowError> {
        let hours = hours.unwrap_or(i64::from(self.settings().default_hours.min(max)));
        if !(1..=i64::from(max)).contains(&hours) {
            return Err(WorkflowError::bad_input(
                "hours",
                "out_of_range",
                format!("hours {hours} is out of range: give 1 to {max} (the maximum of policy {policy})"),
            ));
        }
        Ok(hours as u32)
    }

    fn validate_reason(&self, reason: Option<String>) -> Result<String, WorkflowError> {
        let reason = reason.unwrap_or_default().trim().to_string();
        if reason.is_empty() && self.settings().require_reason {
            return Err(WorkflowError::bad_input(
                "reason",
                "reason_required",
                "a reason is required: say why you need the task (--reason \"...\")",
            ));
        }
        check_text("reason", &reason)?;
        Ok(reason)
    }

    /// File a request. An auto policy approves it at once; a manual one notifies the approvers.
    pub async fn create_request(
        &self,
        actor: &str,
        input: RequestInput,
    ) -> Result<Decision, WorkflowError> {
        let requester = actor.to_lowercase();
        let raw_task = input.task.unwrap_or_default();
        let task = Task::parse(&raw_task)?;
        let policies = self.list_policies().await?;
        let settings = self.settings();
        let compiled =
            task::compile(&policies, &settings.roles, &settings.groups).map_err(|e| {
                WorkflowError::new(
                    ErrorKind::Conflict,
                    "policy_set_invalid",
                    format!(
                        "the policy set does not compile ({e}); fix or remove the policy it names"
                    ),
                )
            })?;
        let policy = task::covering_policy(&compiled, &task).ok_or_else(|| {
            WorkflowError::bad_input(
                "task",
                "unknown_task",
                format!("no approval policy covers {}; it needs no request (see `runspace-gateway policy list`)", task.text()),
            )
        })?;
        let hours = self.validate_hours(input.hours, policy.max_hours, &policy.id)?;
        let reason = self.validate_reason(input.reason)?;
        self.refuse_duplicate(&requester, &task).await?;

        let mut created = self.event("request.create", &requester, None);
        created.detail = serde_json::json!({
            "task": task.text(), "reason": reason, "hours": hours, "policy": policy.id,
            "approval": policy.approval,
        });
        let mut approved = self.event("request.approve", &requester, None);
        approved.detail = serde_json::json!({
            "task": task.text(), "hours": hours, "policy": policy.id, "approver": AUTO_APPROVER,
        });
        // An auto policy's grant is recorded as its own approval, naming the grant.
        let (audit, written) = self.audit_request_with(Box::new(move |r, g| {
            let approval = g.map(|g| naming(&approved, r, Some(g)));
            std::iter::once(naming(&created, r, None))
                .chain(approval)
                .collect()
        }))?;

        let now = self.clock.now_ms();
        let auto = policy.approval == ApprovalKind::Auto;
        let new = NewRequest {
            requester: requester.clone(),
            task: task.text(),
            policy_id: policy.id.clone(),
            approvers: policy.approvers.clone(),
            reason,
            hours,
            state: if auto {
                RequestState::Approved
            } else {
                RequestState::Pending
            },
            created_at_ms: now,
            pending_expires_at_ms: now + i64::from(settings.pending_expiry_hours) * HOUR_MS,
            decided_by: auto.then(|| AUTO_APPROVER.to_string()),
        };
        let grant =
            auto.then(|| self.new_grant(&requester, &task, &policy.id, hours, AUTO_APPROVER, now));
        let notices = self.notice_builder(now);
        let (request, grant) = self
            .blocking_audited(written, move |s| {
                s.create_request(new, grant, &*notices, &*audit)
            })
            .await?;
        if let Some(g) = &grant {
            self.live.grant_added(g);
        }
        self.outbox_wake.notify_one();
        Ok(Decision { request, grant })
    }

    /// The notifications any step causes, decided from the committed request's state.
    pub(super) fn notice_builder(&self, now: Millis) -> Box<crate::store::Compose> {
        let me = NoticeBuilder {
            settings: self.settings(),
        };
        Box::new(move |r, g| me.build(r, g, now))
    }

    pub(super) fn new_grant(
        &self,
        principal: &str,
        task: &Task<'_>,
        policy: &str,
        hours: u32,
        approver: &str,
        now: Millis,
    ) -> NewGrant {
        NewGrant {
            principal: principal.to_string(),
            scope: GrantScope::Task(task.cmdlet.to_string()),
            policy_id: policy.to_string(),
            starts_at_ms: now,
            expires_at_ms: now + i64::from(hours) * HOUR_MS,
            approver: approver.to_string(),
        }
    }

    async fn refuse_duplicate(
        &self,
        requester: &str,
        task: &Task<'_>,
    ) -> Result<(), WorkflowError> {
        let pending = self
            .blocking(|s| s.list_requests(Some(RequestState::Pending), MAX_LIST_ROWS))
            .await?;
        let same = pending.iter().find(|r| {
            r.requester == requester && Task::split(&r.task).is_some_and(|t| t.matches(task))
        });
        match same {
            Some(r) => Err(WorkflowError::new(
                ErrorKind::Conflict,
                "duplicate_request",
                format!(
                    "{} already asks for {} and is pending; wait for its decision",
                    r.id, r.task
                ),
            )),
            None => Ok(()),
        }
    }

    pub async fn get_request(&self, id: &str) -> Result<RequestRecord, WorkflowError> {
        check_request_id(id)?;
        let owned = id.to_string();
        self.blocking(move |s| s.get_request(&owned))
            .await?
            .ok_or_else(|| WorkflowError::not_found(id))
    }

    pub async fn list_requests(
        &self,
        state: Option<RequestState>,
    ) -> Result<Vec<RequestRecord>, WorkflowError> {
        self.blocking(move |s| s.list_requests(state, MAX_LIST_ROWS))
            .await
    }

    /// Grants in force now.
    pub async fn list_grants(&self) -> Result<Vec<GrantRecord>, WorkflowError> {
        let now = self.clock.now_ms();
        self.blocking(move |s| s.list_active_grants(now)).await
    }
}

/// Composes notifications inside the store transaction, from config only (no I/O).
struct NoticeBuilder {
    settings: Arc<super::WorkflowSettings>,
}

impl NoticeBuilder {
    fn build(&self, r: &RequestRecord, g: Option<&GrantRecord>, now: Millis) -> Vec<OutboxMessage> {
        let wf = NoticeView(&self.settings);
        match r.state {
            RequestState::Pending => wf.arrival(r, now),
            _ => wf.decision(r, g, now),
        }
    }
}

struct NoticeView<'a>(&'a super::WorkflowSettings);

impl NoticeView<'_> {
    fn email(&self, p: &str) -> Option<Channel> {
        let address = self.0.emails.get(p).filter(|_| self.0.smtp);
        address.cloned().map(Channel::Email)
    }
    fn webhook(&self) -> Option<Channel> {
        self.0.webhook.then_some(Channel::Webhook)
    }
    fn arrival(&self, r: &RequestRecord, now: Millis) -> Vec<OutboxMessage> {
        let members = self.0.groups.get(&r.approvers).cloned().unwrap_or_default();
        let mails: Vec<Channel> = members
            .iter()
            .filter(|m| **m != r.requester)
            .filter_map(|m| self.email(m))
            .collect();
        if mails.is_empty() {
            tracing::warn!(request = %r.id, group = %r.approvers,
                "no approver has an e-mail address under [users]; only the webhook (if any) is told");
        }
        let all = mails.into_iter().chain(self.webhook());
        all.map(|c| compose::request_arrived(r, c, now)).collect()
    }
    fn decision(
        &self,
        r: &RequestRecord,
        g: Option<&GrantRecord>,
        now: Millis,
    ) -> Vec<OutboxMessage> {
        let all = self.email(&r.requester).into_iter().chain(self.webhook());
        all.map(|c| compose::decided(r, g, c, now)).collect()
    }
}

/// Shown when a decision comes too late.
pub(super) fn expired_message(r: &RequestRecord) -> String {
    format!(
        "{} expired at {} without a decision; the requester must ask again",
        r.id,
        rfc3339(r.pending_expires_at_ms)
    )
}

/// Build a transition at `now` with no grant change.
pub(super) fn transition(
    r: &RequestRecord,
    to: RequestState,
    actor: &str,
    comment: Option<String>,
    now: Millis,
) -> Transition {
    Transition {
        request_id: r.id.clone(),
        from: r.state,
        to,
        actor: actor.to_string(),
        comment,
        at_ms: now,
        grant: None,
        revoke_grant: false,
    }
}
