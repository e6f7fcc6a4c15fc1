//! Shared fixture for the policy tests: a realistic policy set, grants and invocation builders.
#![allow(dead_code)]

use runspace_gateway::clock::Millis;
use runspace_gateway::config::{ApprovalKind, DefaultAction, PamConfig, PamMode, ScriptsAction};
use runspace_gateway::grants::{GrantRecord, GrantScope, Grants};
use runspace_gateway::invocation::{Command, Invocation, Param, Protocol};
use runspace_gateway::policy::record::{PolicyRecord, Scope};
use runspace_gateway::policy::{Policies, RateCheck, Throttle};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

pub const HOUR: Millis = 3_600_000;
/// "Now" for most cases: one hour into the fixture's grants.
pub const NOW: Millis = 10 * HOUR;

pub fn cmd(name: &str) -> Command {
    Command {
        name: name.into(),
        module: None,
        params: vec![],
        positional: vec![],
        is_script: false,
        has_script_block: false,
    }
}

pub fn qualified(module: &str, name: &str) -> Command {
    Command {
        module: Some(module.into()),
        ..cmd(name)
    }
}

pub fn with_param(mut c: Command, name: &str, value: serde_json::Value) -> Command {
    c.params.push(Param {
        name: name.into(),
        value,
        bare: false,
    });
    c
}

pub fn script(text: &str) -> Command {
    Command {
        is_script: true,
        ..cmd(text)
    }
}

pub fn with_block(c: Command) -> Command {
    Command {
        has_script_block: true,
        ..c
    }
}

pub fn inv(principal: &str, statements: Vec<Vec<Command>>) -> Invocation {
    Invocation {
        principal: principal.into(),
        protocol: Protocol::Winrm,
        tenant: None,
        shell_id: Some("11111111-2222-3333-4444-555555555555".into()),
        command_id: None,
        statements,
    }
}

pub fn one(principal: &str, c: Command) -> Invocation {
    inv(principal, vec![vec![c]])
}

pub fn roles() -> BTreeMap<String, Vec<String>> {
    let mut r = BTreeMap::new();
    let journaling = ["New-JournalRule", "Set-JournalRule", "Remove-JournalRule"];
    r.insert("journaling".into(), journaling.map(String::from).to_vec());
    r.insert("transport".into(), vec!["*-TransportRule".into()]);
    r
}

pub fn groups() -> BTreeMap<String, Vec<String>> {
    let mut g = BTreeMap::new();
    g.insert(
        "pam-approvers".into(),
        vec!["bob@contoso.com".into(), "carol@contoso.com".into()],
    );
    g
}

fn policy(id: &str, scope: Scope, approval: ApprovalKind, max_hours: u32) -> PolicyRecord {
    PolicyRecord {
        id: id.into(),
        scope,
        approval,
        approvers: "pam-approvers".into(),
        max_hours,
    }
}

/// C-1 task Exchange\New-JournalRule (manual), C-2 role journaling (auto, 2 h),
/// C-3 task Remove-Mailbox (manual), C-4 role group [transport] (manual).
pub fn records() -> Vec<PolicyRecord> {
    use ApprovalKind::*;
    vec![
        policy(
            "C-1",
            Scope::Task("Exchange\\New-JournalRule".into()),
            Manual,
            8,
        ),
        policy("C-2", Scope::Role("journaling".into()), Auto, 2),
        policy("C-3", Scope::Task("Remove-Mailbox".into()), Manual, 8),
        policy("C-4", Scope::RoleGroup(vec!["transport".into()]), Manual, 8),
    ]
}

pub fn pam() -> PamConfig {
    PamConfig {
        enabled: true,
        mode: PamMode::Enforce,
        default: DefaultAction::Allow,
        always_allow: vec!["Get-*".into()],
        scripts: ScriptsAction::Deny,
        system_accounts: vec!["svc-backup@contoso.com".into()],
    }
}

pub fn policies_with(pam: &PamConfig) -> Policies {
    Policies::compile(pam, &roles(), &groups(), &records()).expect("fixture compiles")
}

pub fn policies() -> Policies {
    policies_with(&pam())
}

pub fn grant(id: &str, principal: &str, scope: GrantScope, policy: &str) -> GrantRecord {
    GrantRecord {
        id: id.into(),
        principal: principal.into(),
        scope,
        policy_id: policy.into(),
        starts_at_ms: NOW - HOUR,
        expires_at_ms: NOW + HOUR,
        request_id: format!("R-{id}"),
        approver: "bob@contoso.com".into(),
    }
}

/// alice: G-1 New-JournalRule (C-1, live), G-2 role journaling (C-2, expired),
/// G-5 Remove-Mailbox approved under C-1 (a policy that does not cover it).
/// dave: G-3 Remove-Mailbox (C-3), starting in the future.
/// erin: G-4 role transport (C-4, live).
pub fn grants() -> Grants {
    let g = Grants::new();
    let task = |t: &str| GrantScope::Task(t.into());
    g.insert(grant(
        "G-1",
        "alice@contoso.com",
        task("New-JournalRule"),
        "C-1",
    ))
    .expect("grant");
    let mut expired = grant(
        "G-2",
        "alice@contoso.com",
        GrantScope::Role("journaling".into()),
        "C-2",
    );
    expired.expires_at_ms = NOW - 1;
    g.insert(expired).expect("grant");
    let mut future = grant("G-3", "dave@contoso.com", task("Remove-Mailbox"), "C-3");
    future.starts_at_ms = NOW + 1;
    g.insert(future).expect("grant");
    g.insert(grant(
        "G-4",
        "erin@contoso.com",
        GrantScope::Role("transport".into()),
        "C-4",
    ))
    .expect("grant");
    g.insert(grant(
        "G-5",
        "alice@contoso.com",
        task("Remove-Mailbox"),
        "C-1",
    ))
    .expect("grant");
    g
}

/// A rate check that counts calls and throttles when told to.
#[derive(Default)]
pub struct CountingLimits {
    pub calls: AtomicUsize,
    pub throttle: bool,
}

impl RateCheck for CountingLimits {
    fn check(&self, _inv: &Invocation, _now: Millis) -> Result<(), Throttle> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.throttle {
            Err(Throttle {
                rule: "per-user".into(),
                retry_after_ms: 1_500,
            })
        } else {
            Ok(())
        }
    }
}

impl CountingLimits {
    pub fn count(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}
