//! The governor-backed [`RateLimiter`] as `decide()`'s rate check.

use crate::clock::Millis;
use crate::invocation::Invocation;
use crate::policy::{RateCheck, Throttle};
use crate::ratelimit::RateLimiter;

impl RateCheck for RateLimiter {
    fn check(&self, inv: &Invocation, now: Millis) -> Result<(), Throttle> {
        RateLimiter::check(self, inv, now).map_err(|t| Throttle {
            rule: t.rule,
            retry_after_ms: t.retry_after_ms,
        })
    }
}
