//! `[pam]` and `[[policy]]`: what needs approval, and how.

use super::Invalid;
use crate::policy::pattern::NamePattern;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PamMode {
    /// Refuse what the policy denies.
    Enforce,
    /// Decide and audit, but always forward: for rollout.
    Shadow,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DefaultAction {
    /// Cmdlets no policy covers pass (the Microsoft 365 behaviour).
    Allow,
    /// Cmdlets no policy covers are refused unless `always_allow` matches (a strict allow-list).
    Deny,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScriptsAction {
    /// Code whose contents cannot be checked is refused.
    Deny,
    Allow,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PamConfig {
    /// Off: `serve` is a plain reverse proxy (nothing inspected, decided or audited). To inspect
    /// and audit without refusing, turn it on with `mode = "shadow"`.
    pub enabled: bool,
    pub mode: PamMode,
    pub default: DefaultAction,
    /// Cmdlet patterns (`Get-*`) allowed when `default = "deny"`. Implicit remoting
    /// (Import-PSSession) also needs `Get-Command`, `Get-FormatData` and `Get-Help` here.
    pub always_allow: Vec<String>,
    pub scripts: ScriptsAction,
    /// Principals exempt from policies (service accounts).
    pub system_accounts: Vec<String>,
}

impl Default for PamConfig {
    fn default() -> Self {
        PamConfig {
            enabled: false,
            mode: PamMode::Enforce,
            default: DefaultAction::Allow,
            always_allow: Vec::new(),
            scripts: ScriptsAction::Deny,
            system_accounts: Vec::new(),
        }
    }
}

impl PamConfig {
    /// Every `always_allow` entry must be a name or a `*`/`?` pattern, and every system account
    /// a non-empty principal, so a typo fails the load instead of silently allowing nothing.
    pub fn validate(&self) -> Result<(), Invalid> {
        for (i, pattern) in self.always_allow.iter().enumerate() {
            NamePattern::parse(pattern)
                .map_err(|e| Invalid::new(format!("pam.always_allow[{i}]"), e.to_string()))?;
        }
        for (i, account) in self.system_accounts.iter().enumerate() {
            if account.trim().is_empty() {
                return Err(Invalid::new(
                    format!("pam.system_accounts[{i}]"),
                    "is empty; give the account's user principal name",
                ));
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ApprovalKind {
    Manual,
    Auto,
}

/// One `[[policy]]` table: exactly one of `task`, `role` or `role_group`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    /// One cmdlet, optionally module-qualified (`Exchange\New-JournalRule`).
    #[serde(default)]
    pub task: Option<String>,
    /// A role from `[roles]`.
    #[serde(default)]
    pub role: Option<String>,
    /// A role group: several roles from `[roles]`.
    #[serde(default)]
    pub role_group: Option<Vec<String>>,
    pub approval: ApprovalKind,
    /// A group from `[groups]` whose members may approve.
    pub approvers: String,
    /// The longest grant an approval may give.
    #[serde(default = "default_max_hours")]
    pub max_hours: u32,
}

fn default_max_hours() -> u32 {
    8
}

impl PolicyConfig {
    pub fn validate(
        &self,
        index: usize,
        groups: &BTreeMap<String, Vec<String>>,
        roles: &BTreeMap<String, Vec<String>>,
    ) -> Result<(), Invalid> {
        let key = |k: &str| format!("policy[{index}].{k}");
        let scopes = [
            self.task.is_some(),
            self.role.is_some(),
            self.role_group.is_some(),
        ];
        if scopes.iter().filter(|s| **s).count() != 1 {
            return Err(Invalid::new(
                key("task"),
                "give exactly one of task, role or role_group",
            ));
        }
        if let Some(task) = &self.task {
            NamePattern::parse(crate::policy::strip_module(task))
                .map_err(|e| Invalid::new(key("task"), e.to_string()))?;
        }
        if !groups.contains_key(&self.approvers) {
            return Err(Invalid::new(
                key("approvers"),
                format!("group {:?} is not defined under [groups]", self.approvers),
            ));
        }
        let role_names = self.role.iter().chain(self.role_group.iter().flatten());
        for role in role_names {
            if !roles.contains_key(role) {
                return Err(Invalid::new(
                    key("role"),
                    format!("role {role:?} is not defined under [roles]"),
                ));
            }
        }
        if self.max_hours == 0 || self.max_hours > 24 * 365 {
            return Err(Invalid::new(key("max_hours"), "must be between 1 and 8760"));
        }
        Ok(())
    }
}
