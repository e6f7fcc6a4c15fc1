//! The audit call point of the data path: one record per decision, written before the request
//! is forwarded or refused. On an enforced endpoint a record that cannot be written stops the
//! request (fail closed).

use crate::audit::{AuditEvent, AuditLog, Decision as AuditDecision};
use crate::invocation::Invocation;
use crate::policy::{Decision, Denial};
use crate::workflow::BoxFuture;
use std::net::SocketAddr;
use std::sync::Mutex;

/// Where decision records go. A written record's `seq` (when the sink keeps one) links the
/// `upstream.response` record to its decision.
pub trait DecisionAudit: Send + Sync + 'static {
    fn record(&self, event: AuditEvent) -> BoxFuture<'_, Result<Option<u64>, String>>;
}

impl DecisionAudit for AuditLog {
    fn record(&self, event: AuditEvent) -> BoxFuture<'_, Result<Option<u64>, String>> {
        Box::pin(async move {
            self.append(event)
                .await
                .map(|receipt| Some(receipt.seq))
                .map_err(|e| e.to_string())
        })
    }
}

/// No audit file: decisions go to the log only (for `dev` and tests).
#[derive(Debug, Default)]
pub struct LogOnlyAudit;

impl DecisionAudit for LogOnlyAudit {
    fn record(&self, event: AuditEvent) -> BoxFuture<'_, Result<Option<u64>, String>> {
        Box::pin(async move {
            tracing::info!(target: "audit", event = ?event.decision, principal = ?event.principal, reason = ?event.reason, "decision");
            Ok(None)
        })
    }
}

/// Records kept in memory, for tests; `fail_with` makes every write fail.
#[derive(Debug, Default)]
pub struct MemoryAudit {
    pub events: Mutex<Vec<AuditEvent>>,
    pub fail_with: Mutex<Option<String>>,
}

impl MemoryAudit {
    pub fn events(&self) -> Vec<AuditEvent> {
        self.events.lock().map(|e| e.clone()).unwrap_or_default()
    }
}

impl DecisionAudit for MemoryAudit {
    /// The `seq` is the record's index in `events`.
    fn record(&self, event: AuditEvent) -> BoxFuture<'_, Result<Option<u64>, String>> {
        Box::pin(async move {
            if let Some(msg) = self.fail_with.lock().map_err(|e| e.to_string())?.clone() {
                return Err(msg);
            }
            let mut events = self.events.lock().map_err(|e| e.to_string())?;
            events.push(event);
            Ok(Some(events.len() as u64 - 1))
        })
    }
}

/// The record for a decision on an invocation. A denial that is not enforced (shadow mode,
/// PAM off) is recorded as `shadow-deny`: the call went on.
pub fn decision_event(
    inv: &Invocation,
    decision: &Decision,
    enforcing: bool,
    client: SocketAddr,
) -> AuditEvent {
    let outcome = match decision {
        Decision::Allow(_) => AuditDecision::Allow,
        Decision::Deny(_) if enforcing => AuditDecision::Deny,
        Decision::Deny(_) => AuditDecision::ShadowDeny,
        Decision::Throttle(_) => AuditDecision::Throttle,
    };
    let mut ev = AuditEvent::decision(inv, outcome).with_client(client);
    match decision {
        Decision::Allow(a) => {
            let join = |f: fn(&crate::policy::GrantUse) -> &str| {
                let ids: Vec<&str> = a.grants_used.iter().map(f).collect();
                (!ids.is_empty()).then(|| ids.join(","))
            };
            ev.policy_id = join(|g| &g.policy_id);
            ev.grant_id = join(|g| &g.grant_id);
            ev.request_id = join(|g| &g.request_id);
            ev.approver = join(|g| &g.approver);
        }
        Decision::Deny(d) => {
            ev.reason = Some(d.reason.clone());
            ev.policy_id = d.policy_id.clone();
        }
        Decision::Throttle(t) => {
            ev.reason = Some(format!(
                "rate limit {} (retry after {} ms)",
                t.rule, t.retry_after_ms
            ));
        }
    }
    ev
}

/// The record for a refusal decided without an invocation (unreadable request, foreign shell,
/// script-block input).
pub fn refusal_event(denial: &Denial, enforcing: bool, client: SocketAddr) -> AuditEvent {
    let outcome = if enforcing {
        AuditDecision::Deny
    } else {
        AuditDecision::ShadowDeny
    };
    let mut ev = AuditEvent::new(crate::audit::EventKind::Decision)
        .with_client(client)
        .with_reason(denial.reason.clone());
    if !denial.principal.is_empty() {
        ev.principal = Some(denial.principal.clone());
    }
    ev.decision = Some(outcome);
    ev
}
