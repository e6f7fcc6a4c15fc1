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
