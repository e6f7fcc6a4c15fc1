//! Rate limits: `[[ratelimit]]` rules evaluated with governor, one keyed limiter per rule.
//!
//! # How a call is counted
//!
//! - Every rule whose cmdlet patterns match at least one command of the invocation applies,
//!   and every one of them must pass.
//! - **Each command counts**: an invocation with several commands (a pipeline, or several
//!   statements) spends one cell per matching command on each rule, against the key that
//!   command maps to (`principal+cmdlet` rules: one key per distinct cmdlet). A pipeline
//!   longer than a rule's burst spends the whole burst (it passes only with a full bucket).
//! - Names match as policies match them ([`crate::policy::name::resolve`]): case and Unicode
//!   folding, aliases and module qualifiers never let a call escape a rule. Patterns are the
//!   policies' too (`*` and `?`).
//! - Script text (`IsScript`) is counted only by rules whose patterns include the bare `*`,
//!   under the cmdlet key `<script>`; a `Get-*` pattern never matches script text.
//! - [`RateLimiter`] is the [`RateCheck`] that `decide()` calls, only for calls the policy
//!   allows, so refused calls spend no quota.
//! - Rules keyed on the caller run first (principal, then principal+cmdlet), then the shared
//!   ones (tenant, then global), config order within a kind; the first that throttles stops. A refused call
//!   still spends the rules that passed before it, which are the caller's own; a caller whose
//!   own rule throttles never spends the shared tenant or global budget.
//! - `tenant` rules put calls with no tenant in one shared bucket, [`NO_TENANT_KEY`].
//!
//! # Bounded memory
//!
//! Each rule tracks at most `max_keys` keys ([`crate::config::DEFAULT_MAX_KEYS_PER_RULE`]).
//! [`RateLimiter::cleanup`] evicts idle keys; the gateway calls it every
//! [`CLEANUP_INTERVAL_MS`]. At the bound, a call with a new key first evicts idle keys and,
//! if none is idle, is throttled (fail closed); known keys keep working. Idle keys are swept
//! at most once per [`SWEEP_MIN_INTERVAL_MS`], so a flood of new keys costs no full scans.
//! A `principal+cmdlet` rule covering `*` lets one caller create keys with made-up cmdlet
//! names; put a `principal` rule beside it (principal rules run first and stop the flood
//! before it reaches the shared key table).
//!
//! # Time
//!
//! Quotas run on [`clock::GovernorClock`], a monotonic view of the injected clock.

pub mod admin;
pub mod clock;
mod recent;
mod reload;
pub(crate) mod rule;
mod status;

pub use admin::{status_route, STATUS_PATH};
pub use recent::{ThrottledKey, MAX_RECENT_THROTTLED_KEYS, RECENT_WINDOW_MS};
pub use reload::ReloadSummary;
pub use rule::{MAX_KEY_PART_BYTES, NO_TENANT_KEY, SCRIPT_KEY, SWEEP_MIN_INTERVAL_MS};
pub use status::{QuotaStatus, RateLimitStatus, RuleStatus, STATUS_TOP_KEYS};

use crate::clock::{Millis, SharedClock};
use crate::config::{Invalid, RateLimitRule};
use crate::invocation::Invocation;
use crate::metrics::Metrics;
use crate::policy::{RateCheck, Throttle};
use clock::GovernorClock;
use recent::RecentThrottles;
use rule::RuleState;
use std::sync::atomic::Ordering;
use std::sync::{Arc, RwLock};

/// How often the gateway should call [`RateLimiter::cleanup`].
pub const CLEANUP_INTERVAL_MS: u64 = 60_000;

/// All rate-limit rules, swappable at run time. Share it behind an `Arc`.
pub struct RateLimiter {
    clock: GovernorClock,
    /// The rule set in evaluation order; replaced whole on reload, read with one clone.
    rules: RwLock<Arc<Vec<ActiveRule>>>,
    recent: RecentThrottles,
    metrics: Option<Metrics>,
}

/// A rule as placed in the current config: its name there, and its (shareable) state.
#[derive(Clone)]
struct ActiveRule {
    name: Arc<str>,
    state: Arc<RuleState>,
}

impl RateLimiter {
    /// Compile `rules` (as validated by the config) on `clock`.
    pub fn new(rules: &[RateLimitRule], clock: SharedClock) -> Result<Self, Invalid> {
        let clock = GovernorClock::new(clock);
        let compiled = reload::compile(rules, &[], &clock)?;
        Ok(RateLimiter {
            clock,
            rules: RwLock::new(Arc::new(compiled.rules)),
            recent: RecentThrottles::default(),
            metrics: None,
        })
    }

    /// Count throttles by rule in `metrics` as well.
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Evict idle keys from every rule and give the memory back; forget throttles older than
    /// the recent window. Call every [`CLEANUP_INTERVAL_MS`]. Returns the keys still tracked.
    pub fn cleanup(&self, now: Millis) -> usize {
        let rules = self.snapshot();
        for rule in rules.iter() {
            rule.state.cleanup();
        }
        self.recent.prune(now);
        rules.iter().map(|r| r.state.key_count()).sum()
    }

    fn snapshot(&self) -> Arc<Vec<ActiveRule>> {
        self.rules
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

impl RateCheck for RateLimiter {
    /// Spend `inv`'s cells on every rule that applies; the first rule out of quota refuses.
    /// Quotas run on the limiter's clock; `now` dates the throttle in the status.
    fn check(&self, inv: &Invocation, now: Millis) -> Result<(), Throttle> {
        let rules = self.snapshot();
        for rule in rules.iter() {
            if let Err(refusal) = rule.state.check(inv) {
                rule.state.throttled.fetch_add(1, Ordering::Relaxed);
                self.recent.record(&rule.name, &refusal.key, now);
                if let Some(m) = &self.metrics {
                    m.throttled(&rule.name);
                }
                return Err(Throttle {
                    rule: rule.name.to_string(),
                    retry_after_ms: refusal.retry_after_ms,
                });
            }
        }
        Ok(())
    }
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<String> = self.snapshot().iter().map(|r| r.name.to_string()).collect();
        f.debug_struct("RateLimiter")
            .field("rules", &names)
            .finish_non_exhaustive()
    }
}
