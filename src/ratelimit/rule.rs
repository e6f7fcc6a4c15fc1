//! One compiled `[[ratelimit]]` rule: its cmdlet patterns, its governor limiter and its key
//! table, with the table's bound.

use super::clock::GovernorClock;
use crate::config::{Invalid, QuotaPeriod, RateLimitKey, RateLimitRule};
use crate::invocation::{Command, Invocation};
use crate::policy::name;
use crate::policy::pattern::NamePattern;
use crate::policy::principal_key;
use dashmap::DashMap;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::keyed::ShrinkableKeyedStateStore;
use governor::state::{InMemoryState, StateStore};
use governor::Quota;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Longest principal, tenant or cmdlet name kept in a key. Longer ones are cut at this length,
/// which can only merge two buckets (more throttling, never less), and bounds each key's size.
pub const MAX_KEY_PART_BYTES: usize = 256;

/// At the key bound, idle keys are swept at most this often, so a flood of new keys cannot
/// turn every call into a scan of the whole table.
pub const SWEEP_MIN_INTERVAL_MS: u64 = 1_000;

/// The key used by `tenant` rules for calls that carry no tenant (WinRM without
/// `DelegatedOrg`): they share one bucket rather than escaping the rule.
pub const NO_TENANT_KEY: &str = "(no tenant)";

/// The cmdlet part of a `principal+cmdlet` key when the command is script text.
pub const SCRIPT_KEY: &str = "<script>";

/// The key table, shared between the limiter (which owns a handle) and the rule (which needs
/// `contains_key` and `len` to enforce the bound, which governor does not offer).
#[derive(Clone, Default)]
pub(crate) struct SharedKeys(Arc<DashMap<String, InMemoryState>>);

impl StateStore for SharedKeys {
    type Key = String;
    fn measure_and_replace<T, F, E>(&self, key: &String, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        StateStore::measure_and_replace(&*self.0, key, f)
    }
}

impl ShrinkableKeyedStateStore<String> for SharedKeys {
    fn retain_recent(&self, drop_below: Nanos) {
        ShrinkableKeyedStateStore::retain_recent(&*self.0, drop_below)
    }
    fn shrink_to_fit(&self) {
        self.0.shrink_to_fit()
    }
    fn len(&self) -> usize {
        self.0.len()
    }
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

type Limiter = governor::RateLimiter<String, SharedKeys, GovernorClock, NoOpMiddleware<Nanos>>;

/// Why one rule refused: the key that ran out and when to retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub key: String,
    pub retry_after_ms: u64,
}

/// A rule ready to evaluate. Shared (`Arc`) across reloads while its definition is unchanged,
/// which is how its counters survive a reload.
pub(crate) struct RuleState {
    /// The definition as configured: the rule's identity across reloads.
    pub definition: RateLimitRule,
    /// Compiled as policies compile theirs, so a rule covers a cmdlet however it is spelled
    /// (case, Unicode folding, aliases, module qualifiers), exactly as a policy would.
    patterns: Vec<NamePattern>,
    /// Script text is only counted by rules that cover every command (`*`).
    covers_scripts: bool,
    burst: NonZeroU32,
    /// A whole burst's refill time: the longest any key can stay distinguishable from new.
    full_refill: Duration,
    max_keys: usize,
    limiter: Limiter,
    keys: SharedKeys,
    clock: GovernorClock,
    /// Calls this rule has throttled since it was compiled (kept across reloads).
    pub throttled: AtomicU64,
    /// Monotonic ms + 1 of the last sweep at the bound; 0 for never.
    last_sweep: AtomicU64,
}

impl RuleState {
    pub fn compile(
        def: &RateLimitRule,
        index: usize,
        clock: &GovernorClock,
    ) -> Result<Self, Invalid> {
        def.validate(index)?;
        let invalid = || {
            Invalid::new(
                format!("ratelimit[{index}]"),
                "quota and burst must be at least 1",
            )
        };
        let (count, period) = def.quota().ok_or_else(invalid)?;
        let count = NonZeroU32::new(count).ok_or_else(invalid)?;
        let burst = NonZeroU32::new(def.effective_burst().unwrap_or(0)).ok_or_else(invalid)?;
        let quota = match period {
            QuotaPeriod::Second => Quota::per_second(count),
            QuotaPeriod::Minute => Quota::per_minute(count),
            QuotaPeriod::Hour => Quota::per_hour(count),
        }
        .allow_burst(burst);
        let keys = SharedKeys::default();
        let patterns = compile_patterns(def, index)?;
        Ok(RuleState {
            definition: def.clone(),
            covers_scripts: patterns
                .iter()
                .any(|p| *p == NamePattern::Prefix(String::new())),
            patterns,
            burst,
            full_refill: quota.burst_size_replenished_in(),
            max_keys: usize::try_from(def.effective_max_keys()).unwrap_or(usize::MAX),
            limiter: governor::RateLimiter::new(quota, keys.clone(), clock.clone()),
            keys,
            clock: clock.clone(),
            throttled: AtomicU64::new(0),
            last_sweep: AtomicU64::new(0),
        })
    }

    /// Spend this invocation's cells on this rule: one per matching command, per key.
    /// Stops at the first key that is out of quota.
    pub fn check(&self, inv: &Invocation) -> Result<(), Refusal> {
        for (key, cells) in self.cells_by_key(inv) {
            self.spend(&key, cells)?;
        }
        Ok(())
    }

    /// The keys this invocation counts against, with how many matching commands each has.
    fn cells_by_key(&self, inv: &Invocation) -> Vec<(String, u32)> {
        let mut out: Vec<(String, u32)> = Vec::new();
        for cmd in inv.commands() {
            let Some(cmdlet) = self.covered_key(cmd) else {
                continue;
            };
            let key = self.key_for(inv, &cmdlet);
            match out.iter_mut().find(|(k, _)| *k == key) {
                Some((_, n)) => *n = n.saturating_add(1),
                None => out.push((key, 1)),
            }
        }
        out
    }

    /// The command's comparison key when this rule covers it, else `None`.
    fn covered_key(&self, cmd: &Command) -> Option<String> {
        if cmd.is_script {
            return self.covers_scripts.then(|| SCRIPT_KEY.to_string());
        }
        let key = name::resolve(&cmd.name, cmd.module.as_deref()).key;
        self.patterns.iter().any(|p| p.matches(&key)).then_some(key)
    }

    fn key_for(&self, inv: &Invocation, cmdlet: &str) -> String {
        match self.definition.key {
            RateLimitKey::Principal => bounded(&principal_key(&inv.principal)).to_string(),
            RateLimitKey::PrincipalCmdlet => {
                let principal = principal_key(&inv.principal);
                format!("{}|{}", bounded(&principal), bounded(cmdlet))
            }
            RateLimitKey::Tenant => match &inv.tenant {
                Some(t) => bounded(t).to_ascii_lowercase(),
                None => NO_TENANT_KEY.to_string(),
            },
            RateLimitKey::Global => "global".to_string(),
        }
    }

    /// A pipeline longer than the burst costs the whole burst: it passes only when the
    /// bucket is full, and empties it, instead of never passing at all.
    fn spend(&self, key: &String, cells: u32) -> Result<(), Refusal> {
        self.admit_key(key)?;
        let n = NonZeroU32::new(cells.min(self.burst.get())).unwrap_or(NonZeroU32::MIN);
        match self.limiter.check_key_n(key, n) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(not_until)) => {
                let wait = not_until.wait_time_from(governor::clock::Clock::now(&self.clock));
                Err(self.refusal(key, wait))
            }
            Err(_insufficient) => Err(self.refusal(key, self.full_refill)),
        }
    }

    fn refusal(&self, key: &str, wait: Duration) -> Refusal {
        let ms = wait.as_nanos().div_ceil(1_000_000).max(1);
        Refusal {
            key: key.to_string(),
            retry_after_ms: u64::try_from(ms).unwrap_or(u64::MAX),
        }
    }

    /// The key bound: a known key always passes; a new key passes while the table has room.
    /// At the bound, idle keys (whose state equals a fresh one) are evicted, at most once per
    /// [`SWEEP_MIN_INTERVAL_MS`]; if the table is still full the call is refused (fail closed)
    /// with a retry-after of one full refill, by when some key must have gone idle.
    /// Concurrent callers may overshoot the bound by at most their number.
    fn admit_key(&self, key: &String) -> Result<(), Refusal> {
        if self.keys.0.contains_key(key) || self.keys.0.len() < self.max_keys {
            return Ok(());
        }
        if self.sweep_if_due() && self.keys.0.len() < self.max_keys {
            return Ok(());
        }
        let wait = self
            .full_refill
            .max(Duration::from_millis(SWEEP_MIN_INTERVAL_MS));
        Err(self.refusal(key, wait))
    }

    fn sweep_if_due(&self) -> bool {
        let now = self.clock.now_mono_ms();
        let last = self.last_sweep.load(Ordering::Acquire);
        if last != 0 && now.saturating_add(1) < last.saturating_add(SWEEP_MIN_INTERVAL_MS) {
            return false;
        }
        let claimed = self.last_sweep.compare_exchange(
            last,
            now.saturating_add(1),
            Ordering::AcqRel,
            Ordering::Acquire,
        );
        if claimed.is_err() {
            return false;
        }
        self.cleanup();
        tracing::warn!(
            rule = self.definition.name.as_deref().unwrap_or("(unnamed)"),
            key = self.definition.key.as_str(),
            max_keys = self.max_keys,
            keys_after_sweep = self.keys.0.len(),
            "rate-limit key table at its bound (max_keys); idle keys evicted, new keys are refused while it stays full"
        );
        true
    }

    /// Drop keys indistinguishable from fresh ones and give the memory back.
    pub fn cleanup(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }

    /// Keys currently tracked.
    pub fn key_count(&self) -> usize {
        self.keys.0.len()
    }
}

fn compile_patterns(def: &RateLimitRule, index: usize) -> Result<Vec<NamePattern>, Invalid> {
    let compile = |(i, text): (usize, &String)| {
        NamePattern::parse(text)
            .map_err(|e| Invalid::new(format!("ratelimit[{index}].cmdlets[{i}]"), e.to_string()))
    };
    def.cmdlets.iter().enumerate().map(compile).collect()
}

/// `s` cut to at most [`MAX_KEY_PART_BYTES`], on a character boundary.
fn bounded(s: &str) -> &str {
    if s.len() <= MAX_KEY_PART_BYTES {
        return s;
    }
    let mut end = MAX_KEY_PART_BYTES;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_key_parts_are_cut_on_a_char_boundary() {
        let long = "é".repeat(MAX_KEY_PART_BYTES);
        let cut = bounded(&long);
        assert!(cut.len() <= MAX_KEY_PART_BYTES && cut.len() >= MAX_KEY_PART_BYTES - 1);
        assert_eq!(bounded("alice"), "alice");
    }
}
