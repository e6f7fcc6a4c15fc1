//! What happened: the event a caller hands to [`super::AuditLog::append`].
//!
//! The writer adds `time`, `seq`, `prev` and `hash` (see [`super::record`]). Optional fields are
//! omitted from the JSON when empty, so a record shows only what applies to its event.

use super::redact::{is_secret_name, redact_value};
use crate::invocation::{Command, Protocol, Value, REDACTED};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;

/// The kind of event, serialised as a stable dotted string that auditors can grep for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventKind {
    /// A decision on one invocation (see [`Decision`]).
    #[serde(rename = "decision")]
    Decision,
    #[serde(rename = "request.created")]
    RequestCreated,
    #[serde(rename = "request.approved")]
    RequestApproved,
    #[serde(rename = "request.denied")]
    RequestDenied,
    #[serde(rename = "request.expired")]
    RequestExpired,
    #[serde(rename = "request.revoked")]
    RequestRevoked,
    /// A grant ran out (not revoked). Written by the expiry sweep after the fact: the grant
    /// stopped working at its `expires_at`, checked on every decision.
    #[serde(rename = "grant.expired")]
    GrantExpired,
    #[serde(rename = "policy.created")]
    PolicyCreated,
    #[serde(rename = "policy.removed")]
    PolicyRemoved,
    /// A workflow step whose record was written inside the store transaction, but whose commit
    /// then failed: the step did not happen, and the ids its record named may be given out
    /// again. Names the same request, grant or policy ids.
    #[serde(rename = "step.rolled_back")]
    StepRolledBack,
    #[serde(rename = "config.reloaded")]
    ConfigReloaded,
    #[serde(rename = "config.rejected")]
    ConfigRejected,
    #[serde(rename = "gateway.start")]
    GatewayStart,
    #[serde(rename = "gateway.stop")]
    GatewayStop,
    /// The endpoint's answer to a forwarded call. The decision is recorded before forwarding,
    /// when the status is not yet known; this record completes it (see `decision_seq`).
    #[serde(rename = "upstream.response")]
    UpstreamResponse,
}

impl EventKind {
    /// Every kind, in declaration order (for tests and documentation).
    pub const ALL: [EventKind; 15] = [
        EventKind::Decision,
        EventKind::RequestCreated,
        EventKind::RequestApproved,
        EventKind::RequestDenied,
        EventKind::RequestExpired,
        EventKind::RequestRevoked,
        EventKind::GrantExpired,
        EventKind::PolicyCreated,
        EventKind::PolicyRemoved,
        EventKind::StepRolledBack,
        EventKind::ConfigReloaded,
        EventKind::ConfigRejected,
        EventKind::GatewayStart,
        EventKind::GatewayStop,
        EventKind::UpstreamResponse,
    ];

    /// The stable string written in the `event` field.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Decision => "decision",
            EventKind::RequestCreated => "request.created",
            EventKind::RequestApproved => "request.approved",
            EventKind::RequestDenied => "request.denied",
            EventKind::RequestExpired => "request.expired",
            EventKind::RequestRevoked => "request.revoked",
            EventKind::GrantExpired => "grant.expired",
            EventKind::PolicyCreated => "policy.created",
            EventKind::PolicyRemoved => "policy.removed",
            EventKind::StepRolledBack => "step.rolled_back",
            EventKind::ConfigReloaded => "config.reloaded",
            EventKind::ConfigRejected => "config.rejected",
            EventKind::GatewayStart => "gateway.start",
            EventKind::GatewayStop => "gateway.stop",
            EventKind::UpstreamResponse => "upstream.response",
        }
    }
}

/// The outcome of one invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decision {
    Allow,
    Deny,
    Throttle,
    /// Shadow mode: the policy would have denied, the call was forwarded anyway.
    ShadowDeny,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Deny => "deny",
            Decision::Throttle => "throttle",
            Decision::ShadowDeny => "shadow-deny",
        }
    }

    /// Parse the string written in the `decision` field.
    pub fn parse(text: &str) -> Option<Decision> {
        [
            Decision::Allow,
            Decision::Deny,
            Decision::Throttle,
            Decision::ShadowDeny,
        ]
        .into_iter()
        .find(|d| d.as_str().eq_ignore_ascii_case(text))
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// One audit event, before the writer chains it. Build it with [`AuditEvent::new`] and the
/// `with_*` helpers, or fill the public fields directly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub event: EventKind,
    /// Who acted: the caller of an invocation, the requester, or the operator.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub principal: Option<String>,
    /// The client's address, for tracing a call back to a machine.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub client: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub protocol: Option<Protocol>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub tenant: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub shell_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub command_id: Option<String>,
    /// Every command of every statement, secrets redacted.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub cmdlets: Vec<AuditCommand>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub decision: Option<Decision>,
    /// Why: the refusal reason, the request's justification, or the config error.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub policy_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub grant_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub request_id: Option<String>,
    /// Who approved (or denied, or revoked) the request behind this event.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub approver: Option<String>,
    /// The endpoint's HTTP status, when the call was forwarded and answered.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub upstream_status: Option<u16>,
    /// How long the endpoint took, in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub upstream_latency_ms: Option<u64>,
    /// For `upstream.response`: the `seq` of the decision record of the same call.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub decision_seq: Option<u64>,
}

/// One command as recorded: its statement index, name and redacted arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditCommand {
    /// Which statement (pipeline) of the invocation it belongs to, from 0.
    pub statement: usize,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub module: Option<String>,
    /// Named parameters in the order sent, as a JSON object (names may repeat).
    #[serde(skip_serializing_if = "Params::is_empty", default)]
    pub params: Params,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub positional: Vec<Value>,
    /// `name` is script text rather than a command name.
    #[serde(skip_serializing_if = "is_false", default)]
    pub is_script: bool,
    #[serde(skip_serializing_if = "is_false", default)]
    pub has_script_block: bool,
}

pub use super::params::Params;

impl AuditCommand {
    /// The redacted audit form of a command. A password-like parameter's value is replaced;
    /// when it was sent bare (its value may be the next positional), the positionals are
    /// replaced too, since we cannot tell which one is the secret.
    pub fn from_command(statement: usize, c: &Command) -> AuditCommand {
        let mut secret_bare = false;
        let params = c
            .params
            .iter()
            .map(|p| {
                if is_secret_name(&p.name) {
                    secret_bare |= p.bare;
                    (p.name.clone(), Value::String(REDACTED.to_string()))
                } else {
                    (p.name.clone(), redact_value(&p.value))
                }
            })
            .collect();
        let positional = c
            .positional
            .iter()
            .map(|v| match secret_bare {
                true => Value::String(REDACTED.to_string()),
                false => redact_value(v),
            })
            .collect();
        AuditCommand {
            statement,
            name: c.name.clone(),
            module: c.module.clone(),
            params: Params(params),
            positional,
            is_script: c.is_script,
            has_script_block: c.has_script_block,
        }
    }
}

impl AuditEvent {
    pub fn new(event: EventKind) -> AuditEvent {
        AuditEvent {
            event,
            principal: None,
            client: None,
            protocol: None,
            tenant: None,
            shell_id: None,
            command_id: None,
            cmdlets: Vec::new(),
            decision: None,
            reason: None,
            policy_id: None,
            grant_id: None,
            request_id: None,
            approver: None,
            upstream_status: None,
            upstream_latency_ms: None,
            decision_seq: None,
        }
    }

    /// A decision event for an invocation: principal, protocol, tenant, ids and cmdlets.
    pub fn decision(inv: &crate::invocation::Invocation, decision: Decision) -> AuditEvent {
        let mut ev = AuditEvent::new(EventKind::Decision)
            .with_principal(&inv.principal)
            .with_statements(&inv.statements);
        ev.decision = Some(decision);
        ev.protocol = Some(inv.protocol);
        ev.tenant = inv.tenant.clone();
        ev.shell_id = inv.shell_id.clone();
        ev.command_id = inv.command_id.clone();
        ev
    }

    pub fn with_principal(mut self, principal: &str) -> Self {
        self.principal = Some(principal.to_string());
        self
    }

    pub fn with_client(mut self, addr: SocketAddr) -> Self {
        self.client = Some(addr.to_string());
        self
    }

    pub fn with_reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    /// Record the cmdlets of these statements, redacted.
    pub fn with_statements(mut self, statements: &[Vec<Command>]) -> Self {
        self.cmdlets = statements
            .iter()
            .enumerate()
            .flat_map(|(i, s)| s.iter().map(move |c| AuditCommand::from_command(i, c)))
            .collect();
        self
    }

    pub fn with_upstream(mut self, status: u16, latency_ms: u64) -> Self {
        self.upstream_status = Some(status);
        self.upstream_latency_ms = Some(latency_ms);
        self
    }

    /// The record completing a forwarded call: the endpoint's status and latency, linked to
    /// the decision record (`decision_seq`) and carrying the same principal and ids.
    pub fn upstream_response(decision: &AuditEvent, decision_seq: u64) -> AuditEvent {
        let mut ev = AuditEvent::new(EventKind::UpstreamResponse);
        ev.principal = decision.principal.clone();
        ev.client = decision.client.clone();
        ev.protocol = decision.protocol;
        ev.tenant = decision.tenant.clone();
        ev.shell_id = decision.shell_id.clone();
        ev.command_id = decision.command_id.clone();
        ev.grant_id = decision.grant_id.clone();
        ev.decision_seq = Some(decision_seq);
        ev
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_kinds_serialise_as_their_stable_strings_and_back() {
        for kind in EventKind::ALL {
            let text = serde_json::to_string(&kind).unwrap();
            assert_eq!(text, format!("\"{}\"", kind.as_str()));
            assert_eq!(serde_json::from_str::<EventKind>(&text).unwrap(), kind);
        }
        assert_eq!(EventKind::RequestApproved.as_str(), "request.approved");
    }

    #[test]
    fn decisions_serialise_and_parse_case_insensitively() {
        for d in [
            Decision::Allow,
            Decision::Deny,
            Decision::Throttle,
            Decision::ShadowDeny,
        ] {
            assert_eq!(
                serde_json::to_string(&d).unwrap(),
                format!("\"{}\"", d.as_str())
            );
            assert_eq!(Decision::parse(&d.as_str().to_uppercase()), Some(d));
        }
        assert_eq!(Decision::parse("maybe"), None);
    }

    #[test]
    fn an_upstream_response_links_to_its_decision() {
        let mut decision = AuditEvent::new(EventKind::Decision).with_principal("a@b.c");
        decision.shell_id = Some("S".into());
        decision.grant_id = Some("g-1".into());
        let resp = AuditEvent::upstream_response(&decision, 41).with_upstream(200, 35);
        assert_eq!(resp.event, EventKind::UpstreamResponse);
        assert_eq!(
            (
                resp.principal.as_deref(),
                resp.shell_id.as_deref(),
                resp.grant_id.as_deref()
            ),
            (Some("a@b.c"), Some("S"), Some("g-1"))
        );
        assert_eq!(
            (
                resp.decision_seq,
                resp.upstream_status,
                resp.upstream_latency_ms
            ),
            (Some(41), Some(200), Some(35))
        );
    }
}
