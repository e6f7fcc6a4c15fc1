//! Policy management (`New-`, `Get-`, `Remove-ElevatedAccessApprovalPolicy`).

use super::error::{ErrorKind, WorkflowError};
use super::task::MAX_TASK_CHARS;
use super::Workflow;
use crate::config::ApprovalKind;
use crate::policy::record::{PolicyRecord, Scope};
use crate::store::NewPolicy;

/// Longest grant a policy may allow: one year, as for `[[policy]] max_hours`.
pub const MAX_POLICY_HOURS: i64 = 24 * 365;
/// `max_hours` when a new policy does not say (as for `[[policy]]`).
pub const DEFAULT_POLICY_HOURS: u32 = 8;

/// A policy as the admin API receives it: exactly one of task, role or role_group.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyInput {
    pub task: Option<String>,
    pub role: Option<String>,
    pub role_group: Option<Vec<String>>,
    pub approval: Option<ApprovalKind>,
    pub approvers: Option<String>,
    pub max_hours: Option<i64>,
}

impl Workflow {
    /// Config-file policies first, then stored ones.
    pub async fn list_policies(&self) -> Result<Vec<PolicyRecord>, WorkflowError> {
        let stored = self.blocking(|s| s.list_policies()).await?;
        let mut all = self.settings().config_policies.clone();
        all.extend(stored);
        Ok(all)
    }

    fn may_manage_policies(&self, actor: &str) -> Result<(), WorkflowError> {
        let settings = self.settings();
        match &settings.policy_admins {
            Some(g) if !settings.in_group(g, actor) => Err(WorkflowError::new(
                ErrorKind::Forbidden,
                "not_policy_admin",
                format!("{actor} is not in the policy administrators group {g:?}"),
            )),
            _ => Ok(()),
        }
    }

    fn validate_policy(&self, p: PolicyInput) -> Result<NewPolicy, WorkflowError> {
        let role_exists = |r: &String| {
            if self.settings().roles.contains_key(r) {
                Ok(())
            } else {
                Err(WorkflowError::bad_input(
                    "role",
                    "unknown_role",
                    format!(
                        "role {:?} is not defined under [roles] in the config file",
                        super::task::shorten(r)
                    ),
                ))
            }
        };
        let scope = match (p.task, p.role, p.role_group) {
            (Some(t), None, None) => Scope::Task(policy_task(&t)?),
            (None, Some(r), None) => {
                role_exists(&r)?;
                Scope::Role(r)
            }
            (None, None, Some(rs)) if !rs.is_empty() => {
                rs.iter().try_for_each(role_exists)?;
                Scope::RoleGroup(rs)
            }
            _ => {
                return Err(WorkflowError::bad_input(
                    "task",
                    "scope_required",
                    "give exactly one of task, role or role_group",
                ))
            }
        };
        let approval = p.approval.ok_or_else(|| {
            WorkflowError::bad_input(
                "approval",
                "missing",
                "approval is required: \"manual\" or \"auto\"",
            )
        })?;
        let approvers = p.approvers.ok_or_else(|| {
            WorkflowError::bad_input(
                "approvers",
                "missing",
                "approvers is required: a group from [groups]",
            )
        })?;
        if !self.settings().groups.contains_key(&approvers) {
            return Err(WorkflowError::bad_input(
                "approvers",
                "unknown_group",
                format!(
                    "group {:?} is not defined under [groups] in the config file",
                    super::task::shorten(&approvers)
                ),
            ));
        }
        let max_hours = match p.max_hours {
            None => DEFAULT_POLICY_HOURS,
            Some(h) if (1..=MAX_POLICY_HOURS).contains(&h) => h as u32,
            Some(h) => {
                return Err(WorkflowError::bad_input(
                    "max_hours",
                    "out_of_range",
                    format!("max_hours {h} is out of range: give 1 to {MAX_POLICY_HOURS}"),
                ))
            }
        };
        Ok(NewPolicy {
            scope,
            approval,
            approvers,
            max_hours,
        })
    }

    /// Refuse a policy the policy engine cannot compile together with the current set.
    async fn check_compiles(&self, p: &NewPolicy) -> Result<(), WorkflowError> {
        let mut all = self.list_policies().await?;
        all.push(PolicyRecord {
            id: "P-0".into(),
            scope: p.scope.clone(),
            approval: p.approval,
            approvers: p.approvers.clone(),
            max_hours: p.max_hours,
        });
        let settings = self.settings();
        super::task::compile(&all, &settings.roles, &settings.groups)
            .map(|_| ())
            .map_err(|e| WorkflowError::bad_input("task", "invalid_pattern", e.to_string()))
    }

    /// Validate, audit, store, then hand the new policy set to the live state.
    pub async fn create_policy(
        &self,
        actor: &str,
        input: PolicyInput,
    ) -> Result<PolicyRecord, WorkflowError> {
        let actor = actor.to_lowercase();
        self.may_manage_policies(&actor)?;
        let policy = self.validate_policy(input)?;
        self.check_compiles(&policy).await?;
        let mut event = self.event("policy.create", &actor, None);
        event.detail = serde_json::json!({
            "scope": policy.scope, "approval": policy.approval,
            "approvers": policy.approvers, "max_hours": policy.max_hours,
        });
        let (audit, written) = self.audit_policy(event)?;
        let at = self.clock.now_ms();
        let created = self
            .blocking_audited(written, move |s| {
                s.create_policy(policy, &actor, at, &*audit)
            })
            .await?;
        self.live.policies_changed(&self.list_policies().await?);
        Ok(created)
    }

    /// Remove a stored policy; config-file policies are read-only here.
    pub async fn remove_policy(
        &self,
        actor: &str,
        id: &str,
    ) -> Result<PolicyRecord, WorkflowError> {
        let actor = actor.to_lowercase();
        self.may_manage_policies(&actor)?;
        if self.settings().config_policies.iter().any(|p| p.id == id) {
            return Err(WorkflowError::new(
                ErrorKind::Forbidden,
                "read_only",
                format!("{id} comes from the config file; remove it there and reload"),
            ));
        }
        if crate::store::parse_id('P', id).is_none() {
            return Err(WorkflowError::bad_input(
                "id",
                "malformed_id",
                format!(
                    "{:?} is not a policy id; ids look like P-1 (or C-1 for config-file policies)",
                    super::task::shorten(id)
                ),
            ));
        }
        let (audit, written) = self.audit_policy(self.event("policy.remove", &actor, Some(id)))?;
        let at = self.clock.now_ms();
        let owned = id.to_string();
        let removed = self
            .blocking_audited(written, move |s| {
                s.remove_policy(&owned, &actor, at, &*audit)
            })
            .await?;
        self.live.policies_changed(&self.list_policies().await?);
        Ok(removed)
    }
}

/// A policy task: a cmdlet (optionally module-qualified) or a pattern such as `Set-*`; the
/// policy engine checks the pattern when the set is compiled.
fn policy_task(raw: &str) -> Result<String, WorkflowError> {
    let t = raw.trim();
    if t.is_empty() || t.chars().count() > MAX_TASK_CHARS {
        return Err(WorkflowError::bad_input(
            "task",
            "invalid_task",
            format!("task must be a cmdlet name or pattern of 1 to {MAX_TASK_CHARS} characters, e.g. \"New-JournalRule\" or \"Set-*\""),
        ));
    }
    Ok(t.to_string())
}
