//! Hot reload: a new rule set replaces the old one atomically, and a rule whose definition
//! did not change keeps its counters (identity is the full definition).

use super::clock::GovernorClock;
use super::rule::RuleState;
use super::{ActiveRule, RateLimiter};
use crate::config::{validate_ratelimit_rules, Invalid, RateLimitKey, RateLimitRule};
use serde::Serialize;
use std::sync::Arc;

/// What a reload changed, by rule name, for the log and the audit record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReloadSummary {
    /// Rules whose definition did not change: their counters carried over.
    pub kept: Vec<String>,
    /// Rules new or changed: they start with full buckets.
    pub added: Vec<String>,
    /// Rules gone or changed: their counters were dropped.
    pub removed: Vec<String>,
}

impl ReloadSummary {
    pub fn is_unchanged(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty()
    }
}

impl std::fmt::Display for ReloadSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "rate limits: {} kept, {} added or changed {:?}, {} removed or changed {:?}",
            self.kept.len(),
            self.added.len(),
            self.added,
            self.removed.len(),
            self.removed
        )
    }
}

pub(super) struct Compiled {
    pub rules: Vec<ActiveRule>,
    pub summary: ReloadSummary,
}

impl RateLimiter {
    /// Replace the rules with `new_rules` in one step. Unchanged rules keep their state;
    /// on any invalid rule nothing changes and the error names the rule and key.
    pub fn reload(&self, new_rules: &[RateLimitRule]) -> Result<ReloadSummary, Invalid> {
        let mut guard = self
            .rules
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let compiled = compile(new_rules, &guard, &self.clock)?;
        *guard = Arc::new(compiled.rules);
        Ok(compiled.summary)
    }
}

/// Compile `defs`, reusing the state of any rule in `old` with an identical definition (each
/// old rule at most once, so two identical rules keep two separate states).
pub(super) fn compile(
    defs: &[RateLimitRule],
    old: &[ActiveRule],
    clock: &GovernorClock,
) -> Result<Compiled, Invalid> {
    validate_ratelimit_rules(defs)?;
    let mut unused: Vec<Option<&ActiveRule>> = old.iter().map(Some).collect();
    let mut summary = ReloadSummary::default();
    let mut rules = Vec::with_capacity(defs.len());
    for (index, def) in defs.iter().enumerate() {
        let name: Arc<str> = Arc::from(def.display_name(index));
        let reused = unused
            .iter_mut()
            .find(|slot| slot.is_some_and(|r| r.state.definition == *def))
            .and_then(Option::take);
        let state = match reused {
            Some(r) => {
                summary.kept.push(name.to_string());
                r.state.clone()
            }
            None => {
                summary.added.push(name.to_string());
                Arc::new(RuleState::compile(def, index, clock)?)
            }
        };
        rules.push(ActiveRule { name, state });
    }
    summary.removed = unused
        .into_iter()
        .flatten()
        .map(|r| r.name.to_string())
        .collect();
    rules.sort_by_key(|r| key_rank(r.state.definition.key));
    Ok(Compiled { rules, summary })
}

/// The caller's own keys first, so they throttle before shared budgets are spent.
fn key_rank(key: RateLimitKey) -> u8 {
    match key {
        RateLimitKey::Principal => 0,
        RateLimitKey::PrincipalCmdlet => 1,
        RateLimitKey::Tenant => 2,
        RateLimitKey::Global => 3,
    }
}
