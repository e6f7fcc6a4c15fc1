//! The rate-limit seam of `decide()`.
//!
//! The policy engine does not count calls; it asks a [`RateCheck`] (the governor-backed limiter
//! in `crate::ratelimit`) only for invocations the policy would allow, so a refused call never
//! uses up anyone's quota.

use crate::clock::Millis;
use crate::invocation::Invocation;

/// A rate limit that said no.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Throttle {
    /// The rule's name (`[[ratelimit]] name`), shown to the user and in audit.
    pub rule: String,
    /// How long until a retry can pass.
    pub retry_after_ms: u64,
}

/// Checks (and counts) an invocation against the rate limits.
pub trait RateCheck: Send + Sync {
    fn check(&self, inv: &Invocation, now: Millis) -> Result<(), Throttle>;
}

/// No rate limits at all.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoLimits;

impl RateCheck for NoLimits {
    fn check(&self, _inv: &Invocation, _now: Millis) -> Result<(), Throttle> {
        Ok(())
    }
}
