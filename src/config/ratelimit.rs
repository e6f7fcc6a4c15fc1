//! `[[ratelimit]]`: quotas evaluated with governor; every matching rule must pass.

use super::Invalid;
use serde::Deserialize;

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

#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitRule {
    /// A name shown in throttled replies, metrics and audit; defaults to `ratelimit[N]`.
    #[serde(default)]
    pub name: Option<String>,
    pub key: RateLimitKey,
    /// Exact cmdlet names or patterns (`Get-*`, `*`).
    #[serde(default = "all_cmdlets")]
    pub cmdlets: Vec<String>,
    #[serde(default)]
    pub per_second: Option<u32>,
    #[serde(default)]
    pub per_minute: Option<u32>,
    #[serde(default)]
    pub per_hour: Option<u32>,
    /// Calls allowed at once above the steady rate; defaults to the per-period quota's 1.
    #[serde(default)]
    pub burst: Option<u32>,
}

fn all_cmdlets() -> Vec<String> {
    vec!["*".to_string()]
}

impl RateLimitRule {
    pub fn validate(&self, index: usize) -> Result<(), Invalid> {
        let quotas = [self.per_second, self.per_minute, self.per_hour];
        let set: Vec<_> = quotas.iter().flatten().collect();
        if set.len() != 1 {
            return Err(Invalid::new(
                format!("ratelimit[{index}].per_minute"),
                "give exactly one of per_second, per_minute or per_hour",
            ));
        }
        if *set[0] == 0 || self.burst == Some(0) {
            return Err(Invalid::new(
                format!("ratelimit[{index}]"),
                "quota and burst must be greater than 0",
            ));
        }
        if self.cmdlets.is_empty() {
            return Err(Invalid::new(
                format!("ratelimit[{index}].cmdlets"),
                "must name at least one cmdlet or pattern (use [\"*\"] for all)",
            ));
        }
        Ok(())
    }
}
