//! Prometheus metrics: one [`Metrics`] handle, cheap to clone, with small methods for the hot
//! path, rendered by [`Metrics::render`] for `GET /metrics` on the admin listener.
//!
//! Every label has a bounded value set: enums for decisions and error kinds, and for names
//! (cmdlets, rule names) the configured set plus a named cap of learned names, the rest
//! counted as [`OTHER_LABEL`].

mod admin;
mod labels;

pub use admin::{metrics_route, METRICS_PATH};

pub use labels::{Decision, UpstreamErrorKind, MAX_LABEL_NAME_BYTES, OTHER_LABEL};

use crate::invocation::{Invocation, Protocol};
use labels::*;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};
use std::sync::Arc;
use std::time::Duration;

/// The content type of [`Metrics::render`]'s output (OpenMetrics text, which Prometheus reads).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Cmdlet names learned from traffic beyond the known set before the rest count as `other`.
pub const DEFAULT_MAX_CMDLET_LABELS: usize = 200;

/// Rule names that get their own throttle label; rule names come from the config, so this is
/// only reached by many reloads with renamed rules.
pub const MAX_RULE_LABELS: usize = 256;

/// What bounds the cmdlet label.
#[derive(Debug, Clone, Default)]
pub struct MetricsOptions {
    /// Cmdlets that always get their own label (e.g. those named by policies and roles).
    pub known_cmdlets: Vec<String>,
    /// Further distinct cmdlet names labelled first-come; `None` for
    /// [`DEFAULT_MAX_CMDLET_LABELS`].
    pub max_cmdlet_labels: Option<usize>,
}

/// The gateway's metrics. Clones share the same counters.
#[derive(Debug, Clone)]
pub struct Metrics(Arc<Inner>);

type HistogramFamily<S> = Family<S, Histogram, fn() -> Histogram>;

#[derive(Debug)]
struct Inner {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    cmdlet_decisions: Family<CmdletLabels, Counter>,
    throttles: Family<RuleLabels, Counter>,
    added_latency: HistogramFamily<FrontDoorLabels>,
    upstream_latency: HistogramFamily<FrontDoorLabels>,
    upstream_errors: Family<UpstreamErrorLabels, Counter>,
    active_grants: Gauge,
    pending_requests: Gauge,
    audit_write: Histogram,
    config_reloads: Family<ReloadLabels, Counter>,
    cmdlets: LabelInterner,
    rules: LabelInterner,
}

/// 0.5 ms to about 4 s: the time the gateway itself adds (parse, decide, audit).
fn added_latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 14))
}

/// 5 ms to about 40 s: the endpoint's own time.
fn upstream_latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.005, 2.0, 14))
}

impl Metrics {
    pub fn new(options: MetricsOptions) -> Self {
        let max_cmdlets = options
            .max_cmdlet_labels
            .unwrap_or(DEFAULT_MAX_CMDLET_LABELS);
        let mut inner = Inner {
            registry: Registry::with_prefix("runspace_gateway"),
            requests: Family::default(),
            cmdlet_decisions: Family::default(),
            throttles: Family::default(),
            added_latency: Family::new_with_constructor(added_latency_histogram),
            upstream_latency: Family::new_with_constructor(upstream_latency_histogram),
            upstream_errors: Family::default(),
            active_grants: Gauge::default(),
            pending_requests: Gauge::default(),
            audit_write: Histogram::new(exponential_buckets(0.0001, 2.0, 14)),
            config_reloads: Family::default(),
            cmdlets: LabelInterner::new(&options.known_cmdlets, max_cmdlets),
            rules: LabelInterner::new(&[], MAX_RULE_LABELS),
        };
        register(&mut inner);
        Metrics(Arc::new(inner))
    }

    /// One request through a front door, and what was decided.
    pub fn request(&self, front_door: Protocol, decision: Decision) {
        let labels = RequestLabels {
            front_door,
            decision,
        };
        self.0.requests.get_or_create(&labels).inc();
    }

    /// The decision for each command of `inv`, by cmdlet, named as policies resolve it
    /// (aliases and module qualifiers resolved, case folded); script text counts as `other`.
    pub fn invocation(&self, inv: &Invocation, decision: Decision) {
        for cmd in inv.commands() {
            if cmd.is_script {
                self.cmdlet_decision(OTHER_LABEL, decision);
                continue;
            }
            let resolved = crate::policy::name::resolve(&cmd.name, cmd.module.as_deref());
            self.cmdlet_decision(&resolved.key, decision);
        }
    }

    /// The decision for one cmdlet (script text and unknown names beyond the cap are `other`).
    pub fn cmdlet_decision(&self, cmdlet: &str, decision: Decision) {
        let labels = CmdletLabels {
            cmdlet: self.0.cmdlets.label(cmdlet),
            decision,
        };
        self.0.cmdlet_decisions.get_or_create(&labels).inc();
    }

    /// A call throttled by `rule`. [`crate::ratelimit::RateLimiter::with_metrics`] calls this.
    pub fn throttled(&self, rule: &str) {
        let labels = RuleLabels {
            rule: self.0.rules.label(rule),
        };
        self.0.throttles.get_or_create(&labels).inc();
    }

    /// Time the gateway added to a request (everything except waiting for the endpoint).
    pub fn gateway_added(&self, front_door: Protocol, took: Duration) {
        let labels = FrontDoorLabels { front_door };
        self.0
            .added_latency
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
    }

    /// Time the endpoint took to answer a forwarded request.
    pub fn upstream_time(&self, front_door: Protocol, took: Duration) {
        let labels = FrontDoorLabels { front_door };
        self.0
            .upstream_latency
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
    }

    pub fn upstream_error(&self, kind: UpstreamErrorKind) {
        self.0
            .upstream_errors
            .get_or_create(&UpstreamErrorLabels { kind })
            .inc();
    }

    /// Set from the grants cache whenever it changes.
    pub fn set_active_grants(&self, n: i64) {
        self.0.active_grants.set(n);
    }

    /// Set by the workflow whenever the pending set changes.
    pub fn set_pending_requests(&self, n: i64) {
        self.0.pending_requests.set(n);
    }

    /// Time to write (and sync, per the fsync policy) one audit record.
    pub fn audit_write(&self, took: Duration) {
        self.0.audit_write.observe(took.as_secs_f64());
    }

    /// A config reload (SIGHUP or `POST /v1/reload`) and whether it was applied.
    pub fn config_reload(&self, applied: bool) {
        let result = if applied { "ok" } else { "error" };
        self.0
            .config_reloads
            .get_or_create(&ReloadLabels { result })
            .inc();
    }

    /// Everything in the OpenMetrics text format; serve with [`CONTENT_TYPE`].
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.0.registry) {
            tracing::error!(error = %e, "metrics: encoding failed; the scrape is incomplete");
        }
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new(MetricsOptions::default())
    }
}

fn register(m: &mut Inner) {
    let r = &mut m.registry;
    r.register(
        "requests",
        "Requests by front door and decision",
        m.requests.clone(),
    );
    r.register(
        "cmdlet_decisions",
        "Decisions by cmdlet (bounded: known cmdlets, then the first N names, then other)",
        m.cmdlet_decisions.clone(),
    );
    r.register(
        "ratelimit_throttles",
        "Calls throttled, by rule",
        m.throttles.clone(),
    );
    r.register_with_unit(
        "added_latency",
        "Time the gateway added to a request",
        Unit::Seconds,
        m.added_latency.clone(),
    );
    r.register_with_unit(
        "upstream_latency",
        "Time the endpoint took to answer",
        Unit::Seconds,
        m.upstream_latency.clone(),
    );
    r.register(
        "upstream_errors",
        "Failed calls to the endpoint, by kind",
        m.upstream_errors.clone(),
    );
    r.register("active_grants", "Grants live now", m.active_grants.clone());
    r.register(
        "pending_requests",
        "Elevated-access requests awaiting approval",
        m.pending_requests.clone(),
    );
    r.register_with_unit(
        "audit_write",
        "Time to write one audit record",
        Unit::Seconds,
        m.audit_write.clone(),
    );
    r.register(
        "config_reloads",
        "Config reloads, by result",
        m.config_reloads.clone(),
    );
}
