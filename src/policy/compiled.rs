//! The policy set compiled into lookup tables, built once per load or reload and read by every
//! `decide()`.
//!
//! # Matching rules
//!
//! - Names are folded ([`super::name::fold`]) and aliases resolved on both sides: a policy on
//!   `iex` covers `Invoke-Expression` and the reverse.
//! - **Module qualifiers never narrow coverage.** A policy on `Exchange\New-JournalRule` covers a
//!   call to `New-JournalRule`, `Exchange\New-JournalRule`, `Microsoft.Exchange\New-JournalRule`
//!   and `tmp_x1y2\New-JournalRule` alike. The qualifier is chosen by the client and the gateway
//!   cannot know which module the endpoint resolves a bare name to (implicit remoting invents
//!   module names per session), so matching on it would let a client pick a qualifier that
//!   escapes. The policy's qualifier is kept for display only.
//! - A cmdlet covered by several policies is allowed by a live grant under any one of them.
//! - Lookups hash exact names, prefixes and suffixes (see [`super::pattern`]): the cost does not
//!   grow with the number of policies.

use super::name::fold;
use super::pattern::{NameIndex, NamePattern};
use super::record::{PolicyRecord, Scope};
use crate::config::{Config, DefaultAction, PamConfig, PamMode, ScriptsAction};
use std::collections::{BTreeMap, HashMap, HashSet};

/// The grant length suggested in refusal messages when `[workflow]` says nothing: Microsoft 365's
/// default request duration.
pub const DEFAULT_REQUEST_HOURS: u32 = 4;

/// A policy that cannot be compiled: the config key or store policy, and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct PolicyError {
    pub key: String,
    pub message: String,
}

impl PolicyError {
    fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        PolicyError {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// One policy with its compiled task pattern.
#[derive(Debug, Clone)]
pub struct CompiledPolicy {
    pub record: PolicyRecord,
}

/// Everything `decide()` needs from `[pam]`, `[roles]`, `[groups]` and the policies.
#[derive(Debug, Clone)]
pub struct Policies {
    enabled: bool,
    mode: PamMode,
    default: DefaultAction,
    scripts: ScriptsAction,
    /// Folded principals exempt from approval policies and the allow-list (not from scripts).
    system_accounts: HashSet<String>,
    /// `[pam] always_allow`, consulted when `default = "deny"`.
    always_allow: NameIndex<()>,
    /// Cmdlet pattern -> index into `policies` of each policy covering it.
    coverage: NameIndex<usize>,
    /// In load order: config policies (`C-n`) first, then the store's.
    policies: Vec<CompiledPolicy>,
    /// Role name -> its cmdlets, to check role-scoped grants.
    roles: HashMap<String, NameIndex<()>>,
    /// Group name -> folded members; approvers are members of the policy's group.
    groups: BTreeMap<String, Vec<String>>,
    /// Hours suggested in the ready-to-run request command (capped by each policy's max).
    request_hours: u32,
}

/// The folded form of a principal (UPN), used for every principal comparison.
pub fn principal_key(principal: &str) -> String {
    let trimmed = principal.trim();
    if trimmed.is_ascii() {
        trimmed.to_ascii_lowercase()
    } else {
        trimmed.to_lowercase()
    }
}

impl Policies {
    /// PAM switched off: every invocation is allowed (rate limits still apply).
    pub fn disabled() -> Policies {
        Policies {
            enabled: false,
            mode: PamMode::Enforce,
            default: DefaultAction::Allow,
            scripts: ScriptsAction::Deny,
            system_accounts: HashSet::new(),
            always_allow: NameIndex::default(),
            coverage: NameIndex::default(),
            policies: Vec::new(),
            roles: HashMap::new(),
            groups: BTreeMap::new(),
            request_hours: DEFAULT_REQUEST_HOURS,
        }
    }

    /// Compile the config file's policies (ids `C-1`..) followed by the store's.
    pub fn from_config(config: &Config, store: &[PolicyRecord]) -> Result<Policies, PolicyError> {
        let mut records = Vec::with_capacity(config.policy.len() + store.len());
        for (i, p) in config.policy.iter().enumerate() {
            let record = PolicyRecord::from_config(i, p)
                .map_err(|inv| PolicyError::new(inv.key, inv.message))?;
            records.push(record);
        }
        records.extend_from_slice(store);
        let policies = Policies::compile(&config.pam, &config.roles, &config.groups, &records)?;
        Ok(policies.with_request_hours(config.workflow.default_hours))
    }

    /// Compile a policy set. Every pattern is checked; unknown roles and duplicate ids are errors.
    pub fn compile(
        pam: &PamConfig,
        roles: &BTreeMap<String, Vec<String>>,
        groups: &BTreeMap<String, Vec<String>>,
        records: &[PolicyRecord],
    ) -> Result<Policies, PolicyError> {
        let compiled_roles = compile_roles(roles)?;
        let always_allow = compile_set(&pam.always_allow, "pam.always_allow")?;
        let mut coverage = NameIndex::default();
        let mut ids = HashSet::new();
        for (index, record) in records.iter().enumerate() {
            if !ids.insert(record.id.as_str()) {
                let msg = "this policy id is used twice; give every policy its own id";
                return Err(PolicyError::new(format!("policy {}", record.id), msg));
            }
            for pattern in covered_patterns(record, roles)? {
                coverage.insert(&pattern, index);
            }
        }
        Ok(Policies {
            enabled: pam.enabled,
            mode: pam.mode,
            default: pam.default,
            scripts: pam.scripts,
            system_accounts: pam
                .system_accounts
                .iter()
                .map(|p| principal_key(p))
                .collect(),
            always_allow,
            coverage,
            policies: records
                .iter()
                .map(|r| CompiledPolicy { record: r.clone() })
                .collect(),
            roles: compiled_roles,
            groups: groups
                .iter()
                .map(|(g, m)| (g.clone(), m.iter().map(|p| principal_key(p)).collect()))
                .collect(),
            request_hours: DEFAULT_REQUEST_HOURS,
        })
    }

    /// Set the grant length suggested in refusal messages (`[workflow] default_hours`).
    pub fn with_request_hours(mut self, hours: u32) -> Policies {
        self.request_hours = hours.max(1);
        self
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }
    pub fn mode(&self) -> PamMode {
        self.mode
    }
    pub fn default_action(&self) -> DefaultAction {
        self.default
    }
    pub fn scripts(&self) -> ScriptsAction {
        self.scripts
    }

    /// Whether a refusal is actually sent (PAM on and in enforce mode); otherwise the gateway
    /// forwards and only records what it would have refused.
    pub fn enforcing(&self) -> bool {
        self.enabled && self.mode == PamMode::Enforce
    }

    /// Whether a folded principal is a system account.
    pub fn is_system_account(&self, principal_key: &str) -> bool {
        self.system_accounts.contains(principal_key)
    }

    /// Whether `[pam] always_allow` lets a folded cmdlet name through.
    pub fn always_allowed(&self, key: &str) -> bool {
        self.always_allow.matches(key)
    }

    /// Indexes of the policies covering a folded cmdlet name, in load order, without repeats.
    pub fn covering(&self, key: &str) -> Vec<usize> {
        let mut hits = Vec::new();
        self.coverage.for_each_match(key, |i| hits.push(i));
        hits.sort_unstable();
        hits.dedup();
        hits
    }

    pub fn policy(&self, index: usize) -> Option<&CompiledPolicy> {
        self.policies.get(index)
    }

    /// All policies in load order.
    pub fn policies(&self) -> &[CompiledPolicy] {
        &self.policies
    }

    /// Whether a role (as named in `[roles]`) includes a folded cmdlet name.
    pub fn role_covers(&self, role: &str, key: &str) -> bool {
        self.roles.get(role).is_some_and(|r| r.matches(key))
    }

    /// The folded members of a group, if it exists.
    pub fn group_members(&self, group: &str) -> Option<&[String]> {
        self.groups.get(group).map(Vec::as_slice)
    }

    /// The hours to suggest when requesting under a policy.
    pub fn request_hours(&self, policy: &PolicyRecord) -> u32 {
        self.request_hours.min(policy.max_hours.max(1))
    }

    /// Patterns tried one by one on each lookup (general globs only); for tests and metrics.
    pub fn glob_count(&self) -> usize {
        self.coverage.glob_count()
    }
}

fn compile_set(patterns: &[String], key: &str) -> Result<NameIndex<()>, PolicyError> {
    let mut set = NameIndex::default();
    for (i, text) in patterns.iter().enumerate() {
        let pattern = NamePattern::parse(&resolve_alias(text))
            .map_err(|e| PolicyError::new(format!("{key}[{i}]"), e.to_string()))?;
        set.insert(&pattern, ());
    }
    Ok(set)
}

fn compile_roles(
    roles: &BTreeMap<String, Vec<String>>,
) -> Result<HashMap<String, NameIndex<()>>, PolicyError> {
    roles
        .iter()
        .map(|(name, members)| {
            Ok((
                name.clone(),
                compile_set(members, &format!("roles.{name}"))?,
            ))
        })
        .collect()
}

/// The cmdlet patterns a policy covers (a task, or every member of its roles).
fn covered_patterns(
    record: &PolicyRecord,
    roles: &BTreeMap<String, Vec<String>>,
) -> Result<Vec<NamePattern>, PolicyError> {
    let key = format!("policy {}", record.id);
    let role_names: Vec<&String> = match &record.scope {
        Scope::Task(task) => {
            let pattern = NamePattern::parse(&resolve_alias(strip_module(task)))
                .map_err(|e| PolicyError::new(format!("{key} task"), e.to_string()))?;
            return Ok(vec![pattern]);
        }
        Scope::Role(r) => vec![r],
        Scope::RoleGroup(rs) => rs.iter().collect(),
    };
    let mut patterns = Vec::new();
    for role in role_names {
        let members = roles.get(role).ok_or_else(|| {
            let msg = format!(
                "role {role:?} is not defined under [roles]; define it or remove the policy"
            );
            PolicyError::new(format!("{key} role"), msg)
        })?;
        for (i, m) in members.iter().enumerate() {
            let pattern = NamePattern::parse(&resolve_alias(m))
                .map_err(|e| PolicyError::new(format!("roles.{role}[{i}]"), e.to_string()))?;
            patterns.push(pattern);
        }
    }
    Ok(patterns)
}

/// `Exchange\New-JournalRule` -> `New-JournalRule`: the qualifier never narrows coverage.
pub fn strip_module(task: &str) -> &str {
    task.rsplit_once('\\').map_or(task, |(_, name)| name)
}

/// A policy or role member written as an alias covers the cmdlet the alias runs.
fn resolve_alias(text: &str) -> String {
    let folded = fold(text);
    match super::aliases::resolve(&folded) {
        Some(cmdlet) => cmdlet.to_string(),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests;
