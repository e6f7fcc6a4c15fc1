//! The rate-limit status served at `GET /v1/ratelimit` and shown by `ratelimit status`.

use super::RateLimiter;
use crate::clock::Millis;
use crate::config::QuotaPeriod;
use serde::{Deserialize, Serialize};

/// Most throttled keys listed in the status.
pub const STATUS_TOP_KEYS: usize = 20;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RateLimitStatus {
    /// The rules in evaluation order.
    pub rules: Vec<RuleStatus>,
    /// The keys most throttled within the recent window, most first.
    pub top_throttled: Vec<super::ThrottledKey>,
    /// The length of the recent window, in seconds.
    pub recent_window_secs: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleStatus {
    pub name: String,
    /// `principal`, `principal+cmdlet`, `tenant` or `global`.
    pub key: String,
    pub cmdlets: Vec<String>,
    pub quota: QuotaStatus,
    pub burst: u32,
    pub max_keys: u32,
    /// Keys tracked now (callers seen recently).
    pub active_keys: usize,
    /// Calls this rule throttled since its definition last changed.
    pub throttled_total: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaStatus {
    pub count: u32,
    /// `second`, `minute` or `hour`.
    pub per: String,
}

impl RateLimiter {
    /// The rules with their quotas and the keys most throttled recently.
    pub fn status(&self, now: Millis) -> RateLimitStatus {
        let rules = self
            .snapshot()
            .iter()
            .map(|r| {
                let def = &r.state.definition;
                let (count, per) = def.quota().unwrap_or((0, QuotaPeriod::Second));
                RuleStatus {
                    name: r.name.to_string(),
                    key: def.key.as_str().to_string(),
                    cmdlets: def.cmdlets.clone(),
                    quota: QuotaStatus {
                        count,
                        per: period_name(per).to_string(),
                    },
                    burst: def.effective_burst().unwrap_or(count),
                    max_keys: def.effective_max_keys(),
                    active_keys: r.state.key_count(),
                    throttled_total: r.state.throttled.load(std::sync::atomic::Ordering::Relaxed),
                }
            })
            .collect();
        RateLimitStatus {
            rules,
            top_throttled: self.recent.top(now, STATUS_TOP_KEYS),
            recent_window_secs: u64::try_from(super::RECENT_WINDOW_MS / 1_000).unwrap_or(0),
        }
    }
}

fn period_name(p: QuotaPeriod) -> &'static str {
    match p {
        QuotaPeriod::Second => "second",
        QuotaPeriod::Minute => "minute",
        QuotaPeriod::Hour => "hour",
    }
}
