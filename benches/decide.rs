//! `decide()` cost against the size of the policy set and of the live grants map.
//!
//! The claim under test: matching never scans the policy list or the grants, so the cost of one
//! decision is flat from 10 to 10,000 policies and from 1,000 to 1,000,000 grants. Each group
//! runs the same three invocations at both sizes:
//!
//! - `granted`: a covered cmdlet the principal holds a live grant for (policy lookup, grant lookup);
//! - `uncovered`: a cmdlet no policy covers (policy lookup, default allow);
//! - `denied`: a covered cmdlet without a grant (policy and grant lookups, refusal message built).
//!
//! `cargo bench --bench decide`; BENCHMARKS.md quotes the medians.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};
use runspace_gateway::clock::Millis;
use runspace_gateway::config::{ApprovalKind, PamConfig};
use runspace_gateway::grants::{GrantRecord, GrantScope, Grants};
use runspace_gateway::invocation::{Command, Invocation, Param, Protocol};
use runspace_gateway::policy::record::{PolicyRecord, Scope};
use runspace_gateway::policy::{decide, Decision, NoLimits, Policies};
use std::collections::BTreeMap;

const NOW: Millis = 1_800_000_000_000;
const HOUR: Millis = 3_600_000;
/// The principal whose calls are decided; the other grants belong to other principals.
const ALICE: &str = "alice@contoso.com";
/// Grants per filler principal, so 1,000,000 grants means 100,000 principals.
const GRANTS_PER_PRINCIPAL: usize = 10;

fn policy(id: String, task: String) -> PolicyRecord {
    PolicyRecord {
        id,
        scope: Scope::Task(task),
        approval: ApprovalKind::Manual,
        approvers: "pam-approvers".into(),
        max_hours: 8,
    }
}

/// `count` task policies: the one the load hits (`New-JournalRule`) and `count - 1` others.
fn policies(count: usize) -> Policies {
    let mut records = vec![policy("P-0".into(), "New-JournalRule".into())];
    records.extend((1..count).map(|i| policy(format!("P-{i}"), format!("Verb{i}-Noun{i}"))));
    let pam = PamConfig {
        enabled: true,
        ..PamConfig::default()
    };
    let mut groups = BTreeMap::new();
    groups.insert("pam-approvers".to_string(), vec!["bob@contoso.com".into()]);
    Policies::compile(&pam, &BTreeMap::new(), &groups, &records).expect("bench policies compile")
}

fn grant(id: usize, principal: String, task: String, policy_id: String) -> GrantRecord {
    GrantRecord {
        id: format!("G-{id}"),
        principal,
        scope: GrantScope::Task(task),
        policy_id,
        starts_at_ms: NOW - HOUR,
        expires_at_ms: NOW + HOUR,
        request_id: format!("R-{id}"),
        approver: "bob@contoso.com".into(),
    }
}

/// `count` live grants: alice's grant for `New-JournalRule`, the rest spread over other principals.
fn grants(count: usize) -> Grants {
    let g = Grants::new();
    let alice = grant(0, ALICE.into(), "New-JournalRule".into(), "P-0".into());
    g.insert(alice).expect("alice's grant");
    for i in 1..count {
        let who = format!("user{}@contoso.com", i / GRANTS_PER_PRINCIPAL);
        let task = format!("Verb{}-Noun{}", i % GRANTS_PER_PRINCIPAL + 1, i);
        let policy_id = format!("P-{}", i % GRANTS_PER_PRINCIPAL + 1);
        g.insert(grant(i, who, task, policy_id))
            .expect("filler grant");
    }
    g
}

fn invocation(principal: &str, cmdlet: &str) -> Invocation {
    Invocation {
        principal: principal.into(),
        protocol: Protocol::Rest,
        tenant: Some("contoso.onmicrosoft.com".into()),
        shell_id: None,
        command_id: None,
        statements: vec![vec![Command {
            name: cmdlet.into(),
            module: None,
            params: vec![Param {
                name: "Name".into(),
                value: serde_json::Value::String("journal-1".into()),
                bare: false,
            }],
            positional: Vec::new(),
            is_script: false,
            has_script_block: false,
        }]],
    }
}

/// The three invocations, each checked once to decide what it is meant to.
fn cases() -> [(&'static str, Invocation); 3] {
    [
        ("granted", invocation(ALICE, "New-JournalRule")),
        ("uncovered", invocation(ALICE, "Get-Mailbox")),
        ("denied", invocation("carol@contoso.com", "New-JournalRule")),
    ]
}

fn expect_outcome(name: &str, d: &Decision) {
    let ok = match name {
        "denied" => matches!(d, Decision::Deny(_)),
        _ => matches!(d, Decision::Allow(_)),
    };
    assert!(ok, "bench case {name} decided {d:?}");
}

fn run(
    c: &mut Criterion,
    group: &str,
    sizes: [(usize, usize); 2],
    label: fn((usize, usize)) -> usize,
) {
    let mut g = c.benchmark_group(group);
    for size in sizes {
        let (p, gr) = (policies(size.0), grants(size.1));
        for (name, inv) in cases() {
            expect_outcome(name, &decide(&inv, &p, &gr, &NoLimits, NOW));
            g.bench_with_input(BenchmarkId::new(name, label(size)), &inv, |b, inv| {
                b.iter(|| decide(black_box(inv), &p, &gr, &NoLimits, black_box(NOW)))
            });
        }
    }
    g.finish();
}

fn by_policies(c: &mut Criterion) {
    run(c, "decide/policies", [(10, 1_000), (10_000, 1_000)], |s| {
        s.0
    });
}

fn by_grants(c: &mut Criterion) {
    run(c, "decide/grants", [(10, 1_000), (10, 1_000_000)], |s| s.1);
}

criterion_group!(benches, by_policies, by_grants);
criterion_main!(benches);
