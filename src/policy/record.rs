//! A policy as stored and exchanged (config file, store, admin API). The policy engine compiles
//! a set of these into its matching tables; the workflow reads them to validate requests.

use crate::config::ApprovalKind;
use serde::{Deserialize, Serialize};

/// What a policy covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// One cmdlet, optionally module-qualified (`Exchange\New-JournalRule`).
    Task(String),
    /// A named role from `[roles]`.
    Role(String),
    /// Several roles.
    RoleGroup(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyRecord {
    /// Stable id shown to users (`P-1`); config-file policies get `C-<n>`.
    pub id: String,
    pub scope: Scope,
    pub approval: ApprovalKind,
    /// A group from `[groups]` whose members may approve.
    pub approvers: String,
    /// The longest grant an approval may give.
    pub max_hours: u32,
}

impl PolicyRecord {
    /// The record for the `index`-th `[[policy]]` table of the config file (id `C-<index+1>`).
    /// Ids follow file order, so reordering the tables renumbers them: grants name their policy
    /// by id, and a grant whose policy no longer covers its cmdlet stops counting (fail closed).
    pub fn from_config(
        index: usize,
        c: &crate::config::PolicyConfig,
    ) -> Result<PolicyRecord, crate::config::Invalid> {
        let scope = match (&c.task, &c.role, &c.role_group) {
            (Some(t), None, None) => Scope::Task(t.clone()),
            (None, Some(r), None) => Scope::Role(r.clone()),
            (None, None, Some(g)) => Scope::RoleGroup(g.clone()),
            _ => {
                return Err(crate::config::Invalid::new(
                    format!("policy[{index}].task"),
                    "give exactly one of task, role or role_group",
                ))
            }
        };
        Ok(PolicyRecord {
            id: format!("C-{}", index + 1),
            scope,
            approval: c.approval,
            approvers: c.approvers.clone(),
            max_hours: c.max_hours,
        })
    }
}
