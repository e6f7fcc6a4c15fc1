//! The gateway's request filter: identity -> inspect -> shell owner -> decide -> audit ->
//! forward or refuse, in the protocol's own error shape.

use super::audit::{decision_event, refusal_event};
use super::state::GatewayState;
use crate::inspect::rest::is_rest_path;
use crate::inspect::{InspectError, Inspection, Layer};
use crate::invocation::Invocation;
use crate::metrics::{self as m, Metrics};
use crate::policy::{self, decide, Decision, Denial, DenyKind, Policies};
use crate::proxy::filter::{ConnContext, FilterFuture, FilterOutcome, RequestFilter};
use crate::refuse::{self, WinrmReply};
use bytes::Bytes;
use std::sync::Arc;

/// The [`RequestFilter`] that enforces the policy; hand it to `proxy::Server::bind`.
#[derive(Clone)]
pub struct Gateway {
    pub(super) state: Arc<GatewayState>,
    metrics: Option<Metrics>,
}

impl Gateway {
    pub fn new(state: Arc<GatewayState>) -> Gateway {
        Gateway {
            state,
            metrics: None,
        }
    }

    /// Count every decided invocation (by front door, decision and cmdlet) and the time the
    /// gateway added before forwarding or refusing it.
    pub fn with_metrics(mut self, metrics: Metrics) -> Gateway {
        self.metrics = Some(metrics);
        self
    }

    pub fn state(&self) -> &Arc<GatewayState> {
        &self.state
    }
}

/// What one request is being decided for: enough to refuse it in its own protocol.
pub(super) struct Ctx<'a> {
    pub conn: &'a ConnContext,
    pub head: &'a http::request::Parts,
    pub rest: bool,
    pub enforcing: bool,
    pub reply: WinrmReply,
}

impl RequestFilter for Gateway {
    /// Every request is inspected except read-only downloads the Exchange module makes while
    /// connecting, which carry no cmdlet ([`is_harmless_download`]).
    fn wants_body(&self, head: &http::request::Parts) -> bool {
        !is_harmless_download(head)
    }

    fn filter<'a>(
        &'a self,
        conn: &'a ConnContext,
        head: &'a http::request::Parts,
        body: Bytes,
    ) -> FilterFuture<'a> {
        Box::pin(self.handle(conn, head, body))
    }
}

/// `GET /adminapi/<ver>/<tenant>/EXOModuleFile` (the module's generated wrappers) and OData
/// `$metadata`: no cmdlet runs, and the module cannot connect without them.
pub fn is_harmless_download(head: &http::request::Parts) -> bool {
    let path = head.uri.path();
    let last = path.rsplit('/').next().unwrap_or("");
    head.method == http::Method::GET
        && is_rest_path(path)
        && (last.eq_ignore_ascii_case("EXOModuleFile") || last.eq_ignore_ascii_case("$metadata"))
}

impl Gateway {
    async fn handle(
        &self,
        conn: &ConnContext,
        head: &http::request::Parts,
        body: Bytes,
    ) -> FilterOutcome {
        let now = self.state.clock.now_ms();
        let mut ctx = Ctx {
            conn,
            head,
            rest: is_rest_path(head.uri.path()),
            enforcing: self.state.enforcing(),
            reply: WinrmReply {
                relates_to: None,
                machine: machine_name(head),
            },
        };
        let policies = match self.state.policies() {
            Ok(p) => p,
            Err(e) => {
                let denial = policy::policies_unavailable(&self.principal(head), &e.to_string());
                return self.refuse_without_invocation(&ctx, denial, body).await;
            }
        };
        let cert = conn.client_cert_principal.as_deref();
        match self.state.inspector.inspect(head, &body, cert, now) {
            Ok(Inspection::Rest(inv)) => self.invocation(&ctx, &inv, &policies, body).await,
            Ok(Inspection::Winrm(w)) => {
                ctx.reply.relates_to = w.message_id.clone();
                self.winrm(&ctx, w, &policies, body).await
            }
            Err(e) => {
                let denial = self.unreadable(head, &e);
                self.refuse_without_invocation(&ctx, denial, body).await
            }
        }
    }

    /// Decide an invocation, audit it, then forward or refuse. Returns whether it was refused.
    pub(super) async fn invocation(
        &self,
        ctx: &Ctx<'_>,
        inv: &Invocation,
        policies: &Policies,
        body: Bytes,
    ) -> FilterOutcome {
        let started = std::time::Instant::now();
        let now = self.state.clock.now_ms();
        let limits = self.state.limits.as_ref();
        let mut decision = decide(inv, policies, &self.state.grants, limits, now);
        if let (Decision::Deny(_), false) = (&decision, ctx.enforcing) {
            // Not enforced, so it will be forwarded: it counts against the rate limits like
            // any forwarded call (decide() only asks them for invocations it allows).
            if let Err(t) = limits.check(inv, now) {
                decision = Decision::Throttle(t);
            }
        }
        let event = decision_event(inv, &decision, ctx.enforcing, ctx.conn.client_addr);
        // The follow-up record's fields, taken now so the decision record moves, uncloned.
        let response_record = crate::audit::AuditEvent::upstream_response(&event, 0);
        let audited = self.audit(ctx, event).await;
        self.count(inv, &decision, audited.is_ok(), started);
        let seq = match audited {
            Ok(seq) => seq,
            Err(outcome) => return outcome,
        };
        if !decision.refuses(ctx.enforcing) {
            let audit = self.state.audit.clone();
            let watch = super::upstream::watch(
                audit,
                self.metrics.clone(),
                inv.protocol,
                response_record,
                seq,
            );
            return FilterOutcome::ForwardWatched(body, watch);
        }
        FilterOutcome::Respond(match &decision {
            Decision::Throttle(t) if ctx.rest => refuse::rest_throttled(t),
            Decision::Throttle(t) => refuse::winrm_throttled(&ctx.reply, t),
            Decision::Deny(d) => refusal(ctx, d),
            Decision::Allow(_) => return FilterOutcome::Forward(body),
        })
    }

    /// Metrics for one decided invocation (an audit failure counts as `error`).
    fn count(
        &self,
        inv: &Invocation,
        decision: &Decision,
        audited: bool,
        started: std::time::Instant,
    ) {
        let Some(metrics) = &self.metrics else { return };
        let label = match decision {
            _ if !audited => m::Decision::Error,
            Decision::Allow(_) => m::Decision::Allow,
            Decision::Deny(_) => m::Decision::Deny,
            Decision::Throttle(_) => m::Decision::Throttle,
        };
        metrics.request(inv.protocol, label);
        metrics.invocation(inv, label);
        metrics.gateway_added(inv.protocol, started.elapsed());
    }

    /// Refuse (or, not enforcing, record and forward) a request decided without an invocation.
    pub(super) async fn refuse_without_invocation(
        &self,
        ctx: &Ctx<'_>,
        denial: Denial,
        body: Bytes,
    ) -> FilterOutcome {
        let event = refusal_event(&denial, ctx.enforcing, ctx.conn.client_addr);
        if let Err(outcome) = self.audit(ctx, event).await.map(|_seq| ()) {
            return outcome;
        }
        tracing::warn!(kind = denial.kind.as_str(), reason = %denial.reason, enforced = ctx.enforcing, "refusal");
        match ctx.enforcing {
            true => FilterOutcome::Respond(refusal(ctx, &denial)),
            false => FilterOutcome::Forward(body),
        }
    }

    /// AUDIT CALL POINT: every decision is written before it takes effect. A failed write
    /// refuses the request on an enforced endpoint; otherwise it is logged and the call goes on.
    /// Returns the record's `seq` when the sink keeps one.
    async fn audit(
        &self,
        ctx: &Ctx<'_>,
        event: crate::audit::AuditEvent,
    ) -> Result<Option<u64>, FilterOutcome> {
        let started = std::time::Instant::now();
        let written = self.state.audit.record(event).await;
        if let Some(metrics) = &self.metrics {
            metrics.audit_write(started.elapsed());
        }
        let e = match written {
            Ok(seq) => return Ok(seq),
            Err(e) => e,
        };
        tracing::error!(error = %e, "audit record not written");
        if !ctx.enforcing {
            return Ok(None);
        }
        let text = format!(
            "The gateway could not write its audit record ({e}), so the request was not \
             forwarded. Tell a gateway administrator."
        );
        Err(FilterOutcome::Respond(match ctx.rest {
            true => refuse::rest_forbidden("", &text),
            false => refuse::winrm_access_denied(&ctx.reply, &text),
        }))
    }

    /// The caller's name for messages, or empty when the request does not say.
    pub(super) fn principal(&self, head: &http::request::Parts) -> String {
        self.state
            .inspector
            .principal(head, None)
            .map(|p| p.name.to_lowercase())
            .unwrap_or_default()
    }

    /// An inspection error as a refusal: another principal's shell, or an unreadable request.
    fn unreadable(&self, head: &http::request::Parts, e: &InspectError) -> Denial {
        let principal = self.principal(head);
        match e {
            InspectError::Malformed {
                layer: Layer::Identity,
                field,
                problem,
            } if field == "ShellId" => {
                // The inspector's problem reads "shell <ID> belongs to another principal".
                let shell = problem.split_whitespace().nth(1).unwrap_or("");
                policy::foreign_shell(&principal, shell)
            }
            _ => policy::uninspectable(&principal, &e.to_string()),
        }
    }
}

/// A denial in the request's protocol: OData error for REST, SOAP fault for WinRM.
fn refusal(ctx: &Ctx<'_>, d: &Denial) -> crate::refuse::RefusalResponse {
    match (ctx.rest, d.kind) {
        (true, DenyKind::Uninspectable) => refuse::rest_bad_request(&d.reason),
        (true, _) => refuse::rest_forbidden(&d.cmdlet, &d.reason),
        (false, DenyKind::Uninspectable) => refuse::winrm_inspection_fault(&ctx.reply, &d.reason),
        (false, _) => refuse::winrm_access_denied(&ctx.reply, &d.reason),
    }
}

/// The `Machine` a fault names: the host the client connected to.
fn machine_name(head: &http::request::Parts) -> String {
    head.headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(|h| h.split(':').next().unwrap_or(h).to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "runspace-gateway".to_string())
}
