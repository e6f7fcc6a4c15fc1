//! Properties of `decide()` over generated invocations, grants and spellings, checked against a
//! brute-force reference model written independently of the compiled tables.

mod policy_common;

use policy_common::*;
use proptest::prelude::*;
use runspace_gateway::grants::{GrantRecord, GrantScope, Grants};
use runspace_gateway::invocation::Command;
use runspace_gateway::policy::{decide, Decision, DenyKind, NoLimits};

/// Covered cmdlets (canonical lower case) and the policies covering them, per the fixture.
const COVERED: &[(&str, &[&str])] = &[
    ("new-journalrule", &["C-1", "C-2"]),
    ("set-journalrule", &["C-2"]),
    ("remove-journalrule", &["C-2"]),
    ("remove-mailbox", &["C-3"]),
    ("new-transportrule", &["C-4"]),
    ("set-transportrule", &["C-4"]),
];
const UNCOVERED: &[&str] = &["get-mailbox", "get-user", "set-user", "get-journalrule"];
const PRINCIPALS: &[&str] = &["alice@contoso.com", "bob@contoso.com"];
const POLICY_IDS: &[&str] = &["C-1", "C-2", "C-3", "C-4"];

fn role_has(role: &str, canonical: &str) -> bool {
    match role {
        "journaling" => {
            ["new-journalrule", "set-journalrule", "remove-journalrule"].contains(&canonical)
        }
        "transport" => canonical.ends_with("-transportrule"),
        _ => false,
    }
}

fn covering(canonical: &str) -> &'static [&'static str] {
    COVERED
        .iter()
        .find(|(c, _)| *c == canonical)
        .map_or(&[], |(_, p)| p)
}

/// The reference model: may `principal` run `canonical` at NOW holding `grants`?
fn model_allows(principal: &str, canonical: &str, grants: &[GrantRecord]) -> bool {
    let policies = covering(canonical);
    policies.is_empty()
        || grants.iter().any(|g| {
            g.principal == principal
                && g.starts_at_ms <= NOW
                && NOW < g.expires_at_ms
                && policies.contains(&g.policy_id.as_str())
                && match &g.scope {
                    GrantScope::Task(t) => t.to_lowercase() == canonical,
                    GrantScope::Role(r) => role_has(r, canonical),
                }
        })
}

fn any_canonical() -> impl Strategy<Value = &'static str> {
    let all: Vec<&'static str> = COVERED
        .iter()
        .map(|(c, _)| *c)
        .chain(UNCOVERED.iter().copied())
        .collect();
    proptest::sample::select(all)
}

fn covered_canonical() -> impl Strategy<Value = &'static str> {
    proptest::sample::select(COVERED.iter().map(|(c, _)| *c).collect::<Vec<_>>())
}

/// A spelling PowerShell would resolve to the same cmdlet: random case, .NET case-folding
/// look-alikes (U+017F for s, U+0131 for i), an en dash, and a client-chosen module qualifier.
fn spelled(canonical: &'static str) -> impl Strategy<Value = Command> {
    let quals = proptest::option::of(proptest::sample::select(vec![
        "Exchange",
        "Microsoft.Exchange",
        "tmp_x1y2.abc",
        "Other-Module",
    ]));
    (
        proptest::collection::vec(any::<u8>(), canonical.len()),
        quals,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(move |(coins, qual, inline, dash)| {
            let name: String = canonical
                .chars()
                .zip(coins)
                .map(|(c, coin)| match (c, coin % 4) {
                    ('s', 0) => '\u{17F}',
                    ('i', 0) => '\u{131}',
                    ('-', _) if dash => '\u{2013}',
                    (c, 1 | 2) => c.to_ascii_uppercase(),
                    (c, _) => c,
                })
                .collect();
            match (qual, inline) {
                (Some(q), true) => cmd(&format!("{q}\\{name}")),
                (Some(q), false) => qualified(q, &name),
                (None, _) => cmd(&name),
            }
        })
}

fn any_grant() -> impl Strategy<Value = (usize, GrantScope, usize, i64)> {
    let scope = prop_oneof![
        covered_canonical().prop_map(|c| GrantScope::Task(c.to_string())),
        Just(GrantScope::Role("journaling".into())),
        Just(GrantScope::Role("transport".into())),
    ];
    // Window: live, expired, or not yet started.
    (
        0..PRINCIPALS.len(),
        scope,
        0..POLICY_IDS.len(),
        prop_oneof![Just(0i64), Just(-3), Just(3)],
    )
}

fn build_grants(specs: &[(usize, GrantScope, usize, i64)]) -> (Grants, Vec<GrantRecord>) {
    let live = Grants::new();
    let mut records = Vec::new();
    for (i, (p, scope, pol, shift)) in specs.iter().enumerate() {
        let mut g = grant(
            &format!("G-{i}"),
            PRINCIPALS[*p],
            scope.clone(),
            POLICY_IDS[*pol],
        );
        g.starts_at_ms += shift * HOUR;
        g.expires_at_ms += shift * HOUR;
        live.insert(g.clone()).expect("grant");
        records.push(g);
    }
    (live, records)
}

type Statements = Vec<Vec<(&'static str, Command)>>;

fn statements() -> impl Strategy<Value = Statements> {
    let command = any_canonical().prop_flat_map(|c| spelled(c).prop_map(move |cmd| (c, cmd)));
    proptest::collection::vec(proptest::collection::vec(command, 1..4), 1..4)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// decide() agrees with the reference model, and in particular never allows a covered
    /// cmdlet without a live grant of that principal under a policy covering it.
    #[test]
    fn never_allow_a_covered_cmdlet_without_a_live_grant(
        specs in proptest::collection::vec(any_grant(), 0..8),
        who in 0..PRINCIPALS.len(),
        stmts in statements(),
    ) {
        let (live, records) = build_grants(&specs);
        let principal = PRINCIPALS[who];
        let first_refused = stmts.iter().enumerate().flat_map(|(s, p)| {
            p.iter().enumerate().map(move |(i, (c, _))| (s, i, *c))
        }).find(|(_, _, c)| !model_allows(principal, c, &records));
        let invocation = inv(principal, stmts.into_iter().map(|p| p.into_iter().map(|(_, c)| c).collect()).collect());
        let got = decide(&invocation, &policies(), &live, &NoLimits, NOW);
        match (first_refused, &got) {
            (None, Decision::Allow(_)) => {}
            (Some((s, i, c)), Decision::Deny(d)) => {
                prop_assert_eq!(d.kind, DenyKind::NeedsGrant);
                prop_assert_eq!((d.statement, d.position), (s, i), "refused {}", c);
                prop_assert!(covering(c).contains(&d.policy_id.as_deref().unwrap_or("")));
            }
            (expected, got) => prop_assert!(false, "model says {:?}, decide says {:?}", expected, got),
        }
    }

    /// Denying one command of any statement denies the whole invocation.
    #[test]
    fn one_denied_command_denies_the_whole_invocation(
        base in proptest::collection::vec(proptest::collection::vec(proptest::sample::select(UNCOVERED.to_vec()), 1..4), 1..4),
        denied in covered_canonical().prop_flat_map(spelled),
        at in (any::<prop::sample::Index>(), any::<prop::sample::Index>()),
    ) {
        let mut statements: Vec<Vec<Command>> = base.iter().map(|p| p.iter().map(|c| cmd(c)).collect()).collect();
        let allowed = inv("bob@contoso.com", statements.clone());
        prop_assert!(matches!(decide(&allowed, &policies(), &grants(), &NoLimits, NOW), Decision::Allow(_)));
        let s = at.0.index(statements.len());
        let pos = at.1.index(statements[s].len() + 1);
        statements[s].insert(pos, denied);
        let got = decide(&inv("bob@contoso.com", statements), &policies(), &grants(), &NoLimits, NOW);
        let Decision::Deny(d) = got else { return Err(TestCaseError::fail(format!("allowed: {got:?}"))) };
        prop_assert_eq!((d.statement, d.position), (s, pos));
    }

    /// Case, module qualifier, dash and Unicode folding games never escape a policy.
    #[test]
    fn spelling_games_never_escape_a_policy(c in covered_canonical().prop_flat_map(spelled)) {
        let got = decide(&one("bob@contoso.com", c.clone()), &policies(), &grants(), &NoLimits, NOW);
        let Decision::Deny(d) = got else { return Err(TestCaseError::fail(format!("{c:?} allowed"))) };
        prop_assert_eq!(d.kind, DenyKind::NeedsGrant);
    }

    /// Every spelling of a code-running cmdlet or its aliases is refused as code.
    #[test]
    fn code_running_cmdlets_are_refused_under_any_spelling(
        name in proptest::sample::select(vec![
            "iex", "invoke-expression", "icm", "invoke-command", "%", "foreach", "foreach-object",
            "sajb", "start-job", "add-type", "sal", "set-alias", "saps", "start", "ii", "ihy", "r",
        ]),
        upper in proptest::collection::vec(any::<bool>(), 20),
        qual in proptest::option::of(proptest::sample::select(vec!["Microsoft.PowerShell.Utility", "Core"])),
    ) {
        let spelled: String = name.chars().zip(upper.iter().cycle())
            .map(|(c, u)| if *u { c.to_ascii_uppercase() } else { c }).collect();
        let full = match qual { Some(q) => format!("{q}\\{spelled}"), None => spelled };
        let got = decide(&one("svc-backup@contoso.com", cmd(&full)), &policies(), &grants(), &NoLimits, NOW);
        let Decision::Deny(d) = got else { return Err(TestCaseError::fail(format!("{full} allowed"))) };
        prop_assert_eq!(d.kind, DenyKind::Script);
    }
}
