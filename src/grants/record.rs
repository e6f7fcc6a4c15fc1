//! A grant as stored and held in the live map.

use crate::clock::Millis;
use serde::{Deserialize, Serialize};

/// What a grant lets its principal run.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantScope {
    /// One cmdlet (name without module, as requested).
    Task(String),
    /// Every cmdlet of a role.
    Role(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantRecord {
    /// `G-<n>`.
    pub id: String,
    /// Lower-case principal (UPN).
    pub principal: String,
    pub scope: GrantScope,
    /// The policy the grant was approved under.
    pub policy_id: String,
    pub starts_at_ms: Millis,
    pub expires_at_ms: Millis,
    /// The request that produced it.
    pub request_id: String,
    /// Who approved it (`auto` for auto-approval policies).
    pub approver: String,
}
