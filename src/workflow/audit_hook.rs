//! The workflow's audit hook on the gateway's hash-chained audit log: each step becomes one
//! record, written (and synced per `[audit] fsync`) before the step takes effect.

use super::hooks::{AuditHook, BoxFuture, WorkflowEvent};
use super::step_audit::ROLLBACK_ACTION;
use crate::audit::{AuditEvent, AuditLog, EventKind};

fn kind(action: &str) -> Option<EventKind> {
    Some(match action {
        "policy.create" => EventKind::PolicyCreated,
        "policy.remove" => EventKind::PolicyRemoved,
        "request.create" => EventKind::RequestCreated,
        "request.approve" => EventKind::RequestApproved,
        "request.deny" => EventKind::RequestDenied,
        "request.expire" => EventKind::RequestExpired,
        "request.revoke" => EventKind::RequestRevoked,
        "grant.expire" => EventKind::GrantExpired,
        ROLLBACK_ACTION => EventKind::StepRolledBack,
        _ => return None,
    })
}

/// One workflow step as an audit record.
pub fn to_audit_event(e: &WorkflowEvent) -> Option<AuditEvent> {
    let mut record = AuditEvent::new(kind(e.action)?).with_principal(&e.actor);
    let text = |key: &str| {
        e.detail
            .get(key)
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    match &e.subject {
        Some(s) if s.starts_with("P-") => record.policy_id = Some(s.clone()),
        Some(s) => {
            record.request_id = Some(s.clone());
            record.policy_id = text("policy");
        }
        None => record.policy_id = text("policy"),
    }
    record.grant_id = e.grant.clone();
    if matches!(
        e.action,
        "request.approve" | "request.deny" | "request.revoke" | "grant.expire"
    ) {
        // An auto policy's approval names "auto", and a grant's end who approved it; a
        // person's decision names them.
        record.approver = text("approver").or_else(|| Some(e.actor.clone()));
    }
    let mut reason = Vec::new();
    if let Some(task) = text("task") {
        reason.push(format!("task {task}"));
    }
    if let Some(hours) = e.detail.get("hours").and_then(|v| v.as_u64()) {
        reason.push(format!("{hours} h"));
    }
    reason.extend(text("reason").or_else(|| text("comment")));
    if e.action == "policy.create" {
        reason.push(e.detail.to_string());
    }
    if !reason.is_empty() {
        record = record.with_reason(reason.join("; "));
    }
    Some(record)
}

impl AuditHook for AuditLog {
    fn record(&self, event: WorkflowEvent) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            let record = to_audit_event(&event)
                .ok_or_else(|| format!("no audit record kind for {:?}", event.action))?;
            self.append(record)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_approval_names_the_request_the_approver_and_the_comment() {
        let e = WorkflowEvent {
            action: "request.approve",
            actor: "bob@contoso.com".into(),
            subject: Some("R-3".into()),
            grant: Some("G-2".into()),
            at_ms: 0,
            detail: serde_json::json!({
                "task": "New-JournalRule", "hours": 4, "comment": "ok", "policy": "C-1",
            }),
        };
        let a = to_audit_event(&e).unwrap();
        assert_eq!(a.event, EventKind::RequestApproved);
        assert_eq!(a.principal.as_deref(), Some("bob@contoso.com"));
        assert_eq!(a.request_id.as_deref(), Some("R-3"));
        assert_eq!(a.grant_id.as_deref(), Some("G-2"));
        assert_eq!(a.policy_id.as_deref(), Some("C-1"));
        assert_eq!(a.approver.as_deref(), Some("bob@contoso.com"));
        assert_eq!(a.reason.as_deref(), Some("task New-JournalRule; 4 h; ok"));
    }

    #[test]
    fn an_auto_approval_names_auto_as_the_approver_and_the_requester_as_principal() {
        let e = WorkflowEvent {
            action: "request.approve",
            actor: "alice@contoso.com".into(),
            subject: Some("R-1".into()),
            grant: Some("G-1".into()),
            at_ms: 0,
            detail: serde_json::json!({"task": "Set-Mailbox", "approver": "auto", "policy": "C-2"}),
        };
        let a = to_audit_event(&e).unwrap();
        assert_eq!(a.principal.as_deref(), Some("alice@contoso.com"));
        assert_eq!(a.approver.as_deref(), Some("auto"));
        assert_eq!(
            (a.request_id.as_deref(), a.grant_id.as_deref()),
            (Some("R-1"), Some("G-1"))
        );
    }

    #[test]
    fn a_rollback_names_the_ids_of_the_step_it_takes_back_and_why() {
        let e = WorkflowEvent {
            action: ROLLBACK_ACTION,
            actor: "bob@contoso.com".into(),
            subject: Some("R-3".into()),
            grant: Some("G-2".into()),
            at_ms: 0,
            detail: serde_json::json!({"policy": "C-1", "reason": "request.approve was not committed (disk full)"}),
        };
        let a = to_audit_event(&e).unwrap();
        assert_eq!(a.event, EventKind::StepRolledBack);
        assert_eq!(
            (
                a.request_id.as_deref(),
                a.grant_id.as_deref(),
                a.policy_id.as_deref()
            ),
            (Some("R-3"), Some("G-2"), Some("C-1"))
        );
        assert_eq!(a.approver, None, "a rollback approves nothing");
        assert_eq!(
            a.reason.as_deref(),
            Some("request.approve was not committed (disk full)")
        );
    }

    #[test]
    fn a_policy_record_names_the_policy_from_its_subject() {
        let e = WorkflowEvent {
            action: "policy.remove",
            actor: "bob@contoso.com".into(),
            subject: Some("P-4".into()),
            grant: None,
            at_ms: 0,
            detail: serde_json::Value::Null,
        };
        let a = to_audit_event(&e).unwrap();
        assert_eq!(a.event, EventKind::PolicyRemoved);
        assert_eq!(
            (a.policy_id.as_deref(), a.request_id.as_deref(), a.approver),
            (Some("P-4"), None, None)
        );
    }

    #[test]
    fn every_workflow_action_has_a_record_kind() {
        for action in [
            "policy.create",
            "policy.remove",
            "request.create",
            "request.approve",
            "request.deny",
            "request.expire",
            "request.revoke",
            "grant.expire",
        ] {
            assert!(kind(action).is_some(), "{action}");
        }
    }
}
