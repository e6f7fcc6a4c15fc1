//! The live state `decide()` reads, fed by the workflow: the grants map (`crate::grants::Grants`)
//! and a callback that recompiles the policy set when stored policies change.

use super::hooks::LiveState;
use crate::grants::record::GrantRecord;
use crate::grants::Grants;
use crate::policy::record::PolicyRecord;
use std::sync::Arc;

/// Called with every policy in force (config-file `C-n` first, then stored `P-n`).
pub type PolicySink = Box<dyn Fn(&[PolicyRecord]) + Send + Sync>;

/// Connects the workflow to the gateway's live grants map and policy set.
pub struct GatewayLive {
    pub grants: Arc<Grants>,
    pub on_policies: PolicySink,
}

impl GatewayLive {
    pub fn new(grants: Arc<Grants>, on_policies: PolicySink) -> GatewayLive {
        GatewayLive {
            grants,
            on_policies,
        }
    }
}

impl LiveState for GatewayLive {
    fn grant_added(&self, grant: &GrantRecord) {
        // A grant the map cannot compile is simply not in force: the call stays refused.
        if let Err(e) = self.grants.insert(grant.clone()) {
            tracing::error!(target: "workflow", grant = %grant.id, error = %e, "grant stored but not in force");
        }
    }
    fn grant_revoked(&self, grant: &GrantRecord) {
        self.grants.revoke(&grant.id);
    }
    fn policies_changed(&self, all: &[PolicyRecord]) {
        (self.on_policies)(all);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grants::record::GrantScope;

    #[test]
    fn grants_enter_and_leave_the_live_map() {
        let grants = Arc::new(Grants::new());
        let live = GatewayLive::new(grants.clone(), Box::new(|_| {}));
        let g = GrantRecord {
            id: "G-1".into(),
            principal: "Alice@Contoso.com".into(),
            scope: GrantScope::Task("New-JournalRule".into()),
            policy_id: "C-1".into(),
            starts_at_ms: 0,
            expires_at_ms: 1_000,
            request_id: "R-1".into(),
            approver: "bob@contoso.com".into(),
        };
        live.grant_added(&g);
        assert_eq!(grants.active_for("alice@contoso.com", 500).len(), 1);
        live.grant_revoked(&g);
        assert!(grants.active_for("alice@contoso.com", 500).is_empty());
    }
}
