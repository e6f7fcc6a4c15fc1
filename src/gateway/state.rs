//! Everything the data path shares: the inspector (with its shell table), the compiled policies
//! behind a swap for reloads, the live grants, the rate limits, the audit log and the clock.

use super::audit::DecisionAudit;
use super::refused::RefusedCommands;
use crate::clock::SharedClock;
use crate::config::{Config, PamConfig};
use crate::grants::{GrantRecord, Grants};
use crate::inspect::Inspector;
use crate::policy::record::PolicyRecord;
use crate::policy::{Policies, PolicyError, RateCheck};
use crate::workflow::LiveState;
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

/// The policy set in force, or why none could be compiled.
///
/// A failed recompile (after a store change or a reload) does not keep the old set, which might
/// miss a new policy: the gateway refuses every invocation on an enforced endpoint, naming the
/// error, until a set compiles again (fail closed).
pub type PolicySlot = Result<Arc<Policies>, PolicyError>;

/// What policies are compiled from, besides the records themselves.
#[derive(Debug, Clone)]
pub struct PolicyInputs {
    pub pam: PamConfig,
    pub roles: BTreeMap<String, Vec<String>>,
    pub groups: BTreeMap<String, Vec<String>>,
    pub request_hours: u32,
}

impl PolicyInputs {
    pub fn from_config(config: &Config) -> PolicyInputs {
        PolicyInputs {
            pam: config.pam.clone(),
            roles: config.roles.clone(),
            groups: config.groups.clone(),
            request_hours: config.workflow.default_hours,
        }
    }

    /// Compile every policy in force (config-file `C-n` and stored ones).
    pub fn compile(&self, all: &[PolicyRecord]) -> PolicySlot {
        Policies::compile(&self.pam, &self.roles, &self.groups, all)
            .map(|p| Arc::new(p.with_request_hours(self.request_hours)))
    }
}

/// The gateway's shared state. One per daemon, behind an `Arc`.
pub struct GatewayState {
    pub inspector: Inspector,
    policies: RwLock<PolicySlot>,
    inputs: RwLock<PolicyInputs>,
    pub grants: Arc<Grants>,
    pub limits: Arc<dyn RateCheck>,
    pub audit: Arc<dyn DecisionAudit>,
    pub clock: SharedClock,
    /// Commands refused on their Command request: the endpoint never saw them.
    pub refused: RefusedCommands,
}

impl GatewayState {
    pub fn new(
        inspector: Inspector,
        inputs: PolicyInputs,
        records: &[PolicyRecord],
        grants: Arc<Grants>,
        limits: Arc<dyn RateCheck>,
        audit: Arc<dyn DecisionAudit>,
        clock: SharedClock,
    ) -> GatewayState {
        let slot = inputs.compile(records);
        if let Err(e) = &slot {
            tracing::error!(error = %e, "policies do not compile; refusing every invocation");
        }
        GatewayState {
            inspector,
            policies: RwLock::new(slot),
            inputs: RwLock::new(inputs),
            grants,
            limits,
            audit,
            clock,
            refused: RefusedCommands::default(),
        }
    }

    /// The policy set for one request (a cheap `Arc` clone; reloads never block on requests).
    pub fn policies(&self) -> PolicySlot {
        self.policies
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Whether refusals are sent (`[pam] enabled` and `mode = "enforce"`); read from the
    /// config, so it holds even while the policy set fails to compile.
    pub fn enforcing(&self) -> bool {
        let inputs = self.inputs.read().unwrap_or_else(|p| p.into_inner());
        inputs.pam.enabled && inputs.pam.mode == crate::config::PamMode::Enforce
    }

    /// Recompile from every policy in force and swap it in.
    pub fn set_policies(&self, all: &[PolicyRecord]) {
        let slot = self
            .inputs
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .compile(all);
        if let Err(e) = &slot {
            tracing::error!(error = %e, "policies do not compile; refusing every invocation");
        }
        *self.policies.write().unwrap_or_else(|p| p.into_inner()) = slot;
    }

    /// Replace `[pam]`, `[roles]` and `[groups]` (a config reload), then recompile.
    pub fn set_inputs(&self, inputs: PolicyInputs, all: &[PolicyRecord]) {
        *self.inputs.write().unwrap_or_else(|p| p.into_inner()) = inputs;
        self.set_policies(all);
    }
}

/// The workflow keeps the live state current: grants at once after the store commit, and the
/// policy set after every create or remove.
impl LiveState for GatewayState {
    fn grant_added(&self, grant: &GrantRecord) {
        if let Err(e) = self.grants.insert(grant.clone()) {
            tracing::error!(error = %e, "grant not held; its principal stays refused");
        }
    }

    fn grant_revoked(&self, grant: &GrantRecord) {
        self.grants.revoke(&grant.id);
    }

    fn policies_changed(&self, all: &[PolicyRecord]) {
        self.set_policies(all);
    }
}
