//! `[[ratelimit]]`: quotas evaluated with governor; every matching rule must pass.

use super::Invalid;
use serde::Deserialize;

/// Keys a rule may use when none is configured: enough for every principal of a large tenant
/// (and every cmdlet they call, for `principal+cmdlet`), small enough that the key table of
/// one rule stays within a few tens of MiB. See `ratelimit` for what happens at the bound.
pub const DEFAULT_MAX_KEYS_PER_RULE: u32 = 100_000;

/// Longest rule name: names appear in throttled replies, metric labels and audit records.
pub const MAX_RULE_NAME_BYTES: usize = 64;

/// Longest cmdlet pattern; real cmdlet names are far shorter.
pub const MAX_CMDLET_PATTERN_BYTES: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
pub enum RateLimitKey {
    #[serde(rename = "principal")]
    Principal,
    #[serde(rename = "principal+cmdlet")]
    PrincipalCmdlet,
    #[serde(rename = "tenant")]
    Tenant,
    #[serde(rename = "global")]
    Global,
}

impl RateLimitKey {
    /// The spelling used in the config file, status output and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            RateLimitKey::Principal => "principal",
            RateLimitKey::PrincipalCmdlet => "principal+cmdlet",
            RateLimitKey::Tenant => "tenant",
            RateLimitKey::Global => "global",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitRule {
    /// A name shown in throttled replies, metrics and audit; defaults to `ratelimit[N]`.
    /// Letters, digits and `-_.[]` only, so it is safe in a metric label and a SOAP fault.
    #[serde(default)]
    pub name: Option<String>,
    pub key: RateLimitKey,
    /// Exact cmdlet names or patterns (`Get-*`, `*`, `Set-?ailbox`), matched as policies match.
    #[serde(default = "all_cmdlets")]
    pub cmdlets: Vec<String>,
    #[serde(default)]
    pub per_second: Option<u32>,
    #[serde(default)]
    pub per_minute: Option<u32>,
    #[serde(default)]
    pub per_hour: Option<u32>,
    /// Calls allowed at once above the steady rate; defaults to the per-period quota itself
    /// (`per_minute = 600` alone allows 600 at once, then one every 100 ms).
    #[serde(default)]
    pub burst: Option<u32>,
    /// Most distinct keys this rule tracks at once; defaults to
    /// [`DEFAULT_MAX_KEYS_PER_RULE`]. At the bound, idle keys are evicted and, if none is idle,
    /// a call with a new key is throttled (fail closed) while known keys keep their quota.
    #[serde(default)]
    pub max_keys: Option<u32>,
}

fn all_cmdlets() -> Vec<String> {
    vec!["*".to_string()]
}

/// The quota period a rule counts over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum QuotaPeriod {
    Second,
    Minute,
    Hour,
}

impl QuotaPeriod {
    pub fn as_millis(self) -> u64 {
        match self {
            QuotaPeriod::Second => 1_000,
            QuotaPeriod::Minute => 60_000,
            QuotaPeriod::Hour => 3_600_000,
        }
    }
}

impl RateLimitRule {
    /// The name the rule is known by: the configured one, else `ratelimit[index]`.
    pub fn display_name(&self, index: usize) -> String {
        match &self.name {
            Some(n) => n.clone(),
            None => format!("ratelimit[{index}]"),
        }
    }

    /// The one quota given and its period, if exactly one was given.
    pub fn quota(&self) -> Option<(u32, QuotaPeriod)> {
        match (self.per_second, self.per_minute, self.per_hour) {
            (Some(n), None, None) => Some((n, QuotaPeriod::Second)),
            (None, Some(n), None) => Some((n, QuotaPeriod::Minute)),
            (None, None, Some(n)) => Some((n, QuotaPeriod::Hour)),
            _ => None,
        }
    }

    /// The burst in effect: the configured one, else the per-period quota.
    pub fn effective_burst(&self) -> Option<u32> {
        self.burst.or(self.quota().map(|(n, _)| n))
    }

    /// The key bound in effect.
    pub fn effective_max_keys(&self) -> u32 {
        self.max_keys.unwrap_or(DEFAULT_MAX_KEYS_PER_RULE)
    }

    pub fn validate(&self, index: usize) -> Result<(), Invalid> {
        let Some((count, _)) = self.quota() else {
            return Err(Invalid::new(
                format!("ratelimit[{index}].per_minute"),
                "give exactly one of per_second, per_minute or per_hour",
            ));
        };
        if count == 0 || self.burst == Some(0) {
            return Err(Invalid::new(
                format!("ratelimit[{index}]"),
                "quota and burst must be greater than 0",
            ));
        }
        if self.max_keys == Some(0) {
            return Err(Invalid::new(
                format!("ratelimit[{index}].max_keys"),
                "must be at least 1 (leave it out for the default of 100000)",
            ));
        }
        self.validate_name(index)?;
        self.validate_cmdlets(index)
    }

    fn validate_name(&self, index: usize) -> Result<(), Invalid> {
        let Some(name) = &self.name else {
            return Ok(());
        };
        let allowed = |c: char| c.is_ascii_alphanumeric() || "-_.[]".contains(c);
        if name.is_empty() || name.len() > MAX_RULE_NAME_BYTES || !name.chars().all(allowed) {
            return Err(Invalid::new(
                format!("ratelimit[{index}].name"),
                format!(
                    "use 1 to {MAX_RULE_NAME_BYTES} letters, digits or -_.[] (the name appears \
                     in metric labels and throttled replies)"
                ),
            ));
        }
        Ok(())
    }

    fn validate_cmdlets(&self, index: usize) -> Result<(), Invalid> {
        if self.cmdlets.is_empty() {
            return Err(Invalid::new(
                format!("ratelimit[{index}].cmdlets"),
                "must name at least one cmdlet or pattern (use [\"*\"] for all)",
            ));
        }
        for (i, pattern) in self.cmdlets.iter().enumerate() {
            let bad_char = pattern
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '[' || c == ']');
            if pattern.is_empty() || pattern.len() > MAX_CMDLET_PATTERN_BYTES || bad_char {
                return Err(Invalid::new(
                    format!("ratelimit[{index}].cmdlets[{i}]"),
                    format!(
                        "a cmdlet name or pattern such as Get-* (wildcards * and ?): 1 to \
                         {MAX_CMDLET_PATTERN_BYTES} bytes, no spaces or [ ]"
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// Checks across rules: names must be unique, or a throttled reply could not say which rule
/// refused it.
pub fn validate_rules(rules: &[RateLimitRule]) -> Result<(), Invalid> {
    let mut seen = std::collections::HashSet::new();
    for (i, rule) in rules.iter().enumerate() {
        rule.validate(i)?;
        if !seen.insert(rule.display_name(i)) {
            return Err(Invalid::new(
                format!("ratelimit[{i}].name"),
                format!(
                    "the name {:?} is used by an earlier rule",
                    rule.display_name(i)
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(toml_text: &str) -> RateLimitRule {
        toml::from_str(toml_text).unwrap()
    }

    #[test]
    fn burst_defaults_to_the_quota() {
        let r = rule("key = \"principal\"\nper_minute = 600\n");
        assert_eq!(r.quota(), Some((600, QuotaPeriod::Minute)));
        assert_eq!(r.effective_burst(), Some(600));
        assert_eq!(r.effective_max_keys(), DEFAULT_MAX_KEYS_PER_RULE);
    }

    #[test]
    fn two_quotas_are_refused() {
        let r = rule("key = \"principal\"\nper_minute = 6\nper_hour = 1\n");
        assert!(r.validate(3).unwrap_err().key.starts_with("ratelimit[3]"));
    }

    #[test]
    fn unsafe_names_and_patterns_are_refused_naming_the_key() {
        let r = rule("name = \"a\\\"b\"\nkey = \"global\"\nper_second = 1\n");
        assert_eq!(r.validate(0).unwrap_err().key, "ratelimit[0].name");
        let r = rule("key = \"global\"\nper_second = 1\ncmdlets = [\"Get-*\", \"a b\"]\n");
        assert_eq!(r.validate(1).unwrap_err().key, "ratelimit[1].cmdlets[1]");
        let r = rule("key = \"global\"\nper_second = 1\nmax_keys = 0\n");
        assert_eq!(r.validate(2).unwrap_err().key, "ratelimit[2].max_keys");
    }

    #[test]
    fn unknown_keys_in_a_rule_are_refused_by_name() {
        let err =
            toml::from_str::<RateLimitRule>("key = \"global\"\nper_second = 1\nmax_key = 3\n")
                .unwrap_err()
                .to_string();
        assert!(err.contains("max_key"), "{err}");
    }

    #[test]
    fn duplicate_names_are_refused() {
        let a = rule("name = \"x\"\nkey = \"global\"\nper_second = 1\n");
        let err = validate_rules(&[a.clone(), a]).unwrap_err();
        assert_eq!(err.key, "ratelimit[1].name");
    }
}
