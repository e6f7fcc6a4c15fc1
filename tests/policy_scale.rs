//! Correct at scale: 10,000 policies and 1,000,000 grants, decided through the same tables.

use runspace_gateway::config::{ApprovalKind, PamConfig};
use runspace_gateway::grants::{GrantRecord, GrantScope, Grants};
use runspace_gateway::invocation::{Command, Invocation, Protocol};
use runspace_gateway::policy::record::{PolicyRecord, Scope};
use runspace_gateway::policy::{decide, Decision, NoLimits, Policies};
use std::collections::BTreeMap;

const POLICIES: usize = 10_000;
const PRINCIPALS: usize = 100_000;
const GRANTS_EACH: usize = 10;
const HOUR: i64 = 3_600_000;
const NOW: i64 = 1_000 * HOUR;

fn task(i: usize) -> String {
    format!("Verb{i}-Noun{i}")
}

fn principal(p: usize) -> String {
    format!("user{p}@contoso.com")
}

/// Principal p holds grants for tasks p*7+k (k < 10) under their policies; odd k expire in
/// the past, even k are live.
fn grant(p: usize, k: usize) -> GrantRecord {
    let t = (p * 7 + k) % POLICIES;
    GrantRecord {
        id: format!("G-{p}-{k}"),
        principal: principal(p),
        scope: GrantScope::Task(task(t)),
        policy_id: format!("P-{t}"),
        starts_at_ms: NOW - HOUR,
        expires_at_ms: if k % 2 == 0 { NOW + HOUR } else { NOW - 1 },
        request_id: format!("R-{p}-{k}"),
        approver: "bob@contoso.com".into(),
    }
}

fn call(p: usize, t: usize) -> Invocation {
    Invocation {
        principal: principal(p),
        protocol: Protocol::Rest,
        tenant: None,
        shell_id: None,
        command_id: None,
        statements: vec![vec![Command {
            name: task(t).to_uppercase(),
            module: None,
            params: vec![],
            positional: vec![],
            is_script: false,
            has_script_block: false,
        }]],
    }
}

#[test]
fn ten_thousand_policies_and_a_million_grants() {
    let records: Vec<PolicyRecord> = (0..POLICIES)
        .map(|i| PolicyRecord {
            id: format!("P-{i}"),
            scope: Scope::Task(format!("Exchange\\{}", task(i))),
            approval: ApprovalKind::Manual,
            approvers: "pam-approvers".into(),
            max_hours: 8,
        })
        .collect();
    let pam = PamConfig {
        enabled: true,
        ..PamConfig::default()
    };
    let policies = Policies::compile(&pam, &BTreeMap::new(), &BTreeMap::new(), &records).unwrap();
    assert_eq!(
        policies.glob_count(),
        0,
        "exact tasks never fall back to a scan"
    );

    // Filled from two threads at once: the map is shared, as the store's loader and the
    // workflow share it in the daemon.
    let grants = Grants::new();
    std::thread::scope(|s| {
        for half in 0..2 {
            let grants = &grants;
            s.spawn(move || {
                for p in (half..PRINCIPALS).step_by(2) {
                    for k in 0..GRANTS_EACH {
                        grants.insert(grant(p, k)).unwrap();
                    }
                }
            });
        }
    });
    assert_eq!(grants.len(), PRINCIPALS * GRANTS_EACH);

    for p in [0, 1, 4_242, PRINCIPALS / 2, PRINCIPALS - 1] {
        let live = (p * 7) % POLICIES;
        let expired = (p * 7 + 1) % POLICIES;
        let foreign = (p * 7 + 5_000) % POLICIES;
        let allowed = decide(&call(p, live), &policies, &grants, &NoLimits, NOW);
        let Decision::Allow(a) = allowed else {
            panic!("user{p} live grant: {allowed:?}")
        };
        assert_eq!(a.grants_used[0].grant_id, format!("G-{p}-0"));
        for t in [expired, foreign] {
            let d = decide(&call(p, t), &policies, &grants, &NoLimits, NOW);
            let Decision::Deny(d) = d else {
                panic!("user{p} task {t}: {d:?}")
            };
            assert_eq!(d.policy_id, Some(format!("P-{t}")));
        }
    }

    let swept = grants.sweep(NOW);
    assert_eq!(swept.len(), PRINCIPALS * GRANTS_EACH / 2);
    assert_eq!(grants.len(), PRINCIPALS * GRANTS_EACH / 2);
    assert_eq!(grants.active_for(&principal(7), NOW).len(), GRANTS_EACH / 2);
}
