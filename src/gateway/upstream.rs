//! What the endpoint answered to a forwarded invocation: the `upstream.response` audit record
//! (linked to its decision record) and the upstream metrics. This runs after forwarding, so a
//! failed audit write can only be logged.

use super::audit::DecisionAudit;
use crate::audit::AuditEvent;
use crate::invocation::Protocol;
use crate::metrics::{Metrics, UpstreamErrorKind};
use crate::proxy::filter::{OnUpstream, UpstreamFailure, UpstreamOutcome};
use std::sync::Arc;

/// The report for one forwarded call: `record` is the decision's
/// [`AuditEvent::upstream_response`], completed here with the decision's `seq` and what the
/// endpoint answered. `decision_seq` is `None` when the audit sink keeps no sequence
/// (log-only): then only the metrics are recorded.
pub(super) fn watch(
    audit: Arc<dyn DecisionAudit>,
    metrics: Option<Metrics>,
    protocol: Protocol,
    record: AuditEvent,
    decision_seq: Option<u64>,
) -> OnUpstream {
    Box::new(move |outcome: UpstreamOutcome| {
        Box::pin(async move {
            if let Some(metrics) = &metrics {
                count(metrics, protocol, &outcome);
            }
            let Some(seq) = decision_seq else { return };
            let latency_ms = u64::try_from(outcome.latency.as_millis()).unwrap_or(u64::MAX);
            let mut event = record.with_upstream(outcome.status, latency_ms);
            event.decision_seq = Some(seq);
            if let Err(e) = audit.record(event).await {
                tracing::error!(error = %e, decision_seq = seq, "upstream.response audit record not written");
            }
        })
    })
}

fn count(metrics: &Metrics, protocol: Protocol, outcome: &UpstreamOutcome) {
    let kind = match outcome.failure {
        None if outcome.status >= 500 => Some(UpstreamErrorKind::Status5xx),
        None => None,
        Some(UpstreamFailure::Connect) => Some(UpstreamErrorKind::Connect),
        Some(UpstreamFailure::Tls) => Some(UpstreamErrorKind::Tls),
        Some(UpstreamFailure::Timeout) => Some(UpstreamErrorKind::Timeout),
        Some(UpstreamFailure::Exchange) => Some(UpstreamErrorKind::Protocol),
        Some(UpstreamFailure::ClientBody) => return,
    };
    if let Some(kind) = kind {
        metrics.upstream_error(kind);
    }
    if outcome.failure.is_none() {
        metrics.upstream_time(protocol, outcome.latency);
    }
}
