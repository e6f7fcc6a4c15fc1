//! The exhaustive table of `decide()` cases: every rule, every exemption, every spelling game.

mod policy_common;

use policy_common::*;
use runspace_gateway::clock::Millis;
use runspace_gateway::config::{DefaultAction, PamConfig, PamMode, ScriptsAction};
use runspace_gateway::invocation::Invocation;
use runspace_gateway::policy::{decide, AllowBasis, Decision, DenyKind, NoLimits};
use serde_json::json;

/// What a case expects.
#[derive(Debug)]
enum Expect {
    Allow(AllowBasis, &'static [&'static str]),
    /// Kind, refused cmdlet, policy id, statement, position.
    Deny(DenyKind, &'static str, Option<&'static str>, usize, usize),
}

struct Case {
    name: &'static str,
    pam: fn(&mut PamConfig),
    now: Millis,
    inv: Invocation,
    expect: Expect,
}

fn enforce(_: &mut PamConfig) {}
fn strict(p: &mut PamConfig) {
    p.default = DefaultAction::Deny;
}
fn scripts_allowed(p: &mut PamConfig) {
    p.scripts = ScriptsAction::Allow;
}
fn strict_scripts_allowed(p: &mut PamConfig) {
    p.default = DefaultAction::Deny;
    p.scripts = ScriptsAction::Allow;
}
fn off(p: &mut PamConfig) {
    p.enabled = false;
}
fn shadow(p: &mut PamConfig) {
    p.mode = PamMode::Shadow;
}

fn case(name: &'static str, pam: fn(&mut PamConfig), inv: Invocation, expect: Expect) -> Case {
    Case {
        name,
        pam,
        now: NOW,
        inv,
        expect,
    }
}

const ALICE: &str = "alice@contoso.com";
const BOB: &str = "bob@contoso.com";

fn cases() -> Vec<Case> {
    use AllowBasis::{PamDisabled, Policy, SystemAccount};
    use DenyKind::*;
    use Expect::{Allow, Deny};
    let mut v = vec![
        case(
            "uncovered cmdlet passes",
            enforce,
            one(BOB, cmd("Get-Mailbox")),
            Allow(Policy, &[]),
        ),
        case(
            "covered cmdlet without grant",
            enforce,
            one(BOB, cmd("New-JournalRule")),
            Deny(NeedsGrant, "New-JournalRule", Some("C-1"), 0, 0),
        ),
        case(
            "covered cmdlet with live grant",
            enforce,
            one(ALICE, cmd("New-JournalRule")),
            Allow(Policy, &["G-1"]),
        ),
        case(
            "grant of another principal does not count",
            enforce,
            one("carol@contoso.com", cmd("New-JournalRule")),
            Deny(NeedsGrant, "New-JournalRule", Some("C-1"), 0, 0),
        ),
        case(
            "principal is folded before the grant lookup",
            enforce,
            one(" Alice@CONTOSO.com", cmd("New-JournalRule")),
            Allow(Policy, &["G-1"]),
        ),
        case(
            "grant for one task does not cover another of the role",
            enforce,
            one(ALICE, cmd("Set-JournalRule")),
            Deny(NeedsGrant, "Set-JournalRule", Some("C-2"), 0, 0),
        ),
        case(
            "grant approved under a policy not covering the cmdlet does not count",
            enforce,
            one(ALICE, cmd("Remove-Mailbox")),
            Deny(NeedsGrant, "Remove-Mailbox", Some("C-3"), 0, 0),
        ),
        case(
            "grant not yet started",
            enforce,
            one("dave@contoso.com", cmd("Remove-Mailbox")),
            Deny(NeedsGrant, "Remove-Mailbox", Some("C-3"), 0, 0),
        ),
        case(
            "role-group grant covers a pattern member",
            enforce,
            one("erin@contoso.com", cmd("Set-TransportRule")),
            Allow(Policy, &["G-4"]),
        ),
        case(
            "role-group pattern covers without grant",
            enforce,
            one(BOB, cmd("New-TransportRule")),
            Deny(NeedsGrant, "New-TransportRule", Some("C-4"), 0, 0),
        ),
        case(
            "case games",
            enforce,
            one(BOB, cmd("nEW-jOURNALrULE")),
            Deny(NeedsGrant, "New-JournalRule", Some("C-1"), 0, 0),
        ),
        case(
            "unicode long s folds like .NET",
            enforce,
            one(BOB, cmd("\u{17F}et-JournalRule")),
            Deny(NeedsGrant, "\u{17F}et-JournalRule", Some("C-2"), 0, 0),
        ),
        case(
            "en dash for hyphen",
            enforce,
            one(BOB, cmd("Remove\u{2013}Mailbox")),
            Deny(NeedsGrant, "Remove-Mailbox", Some("C-3"), 0, 0),
        ),
        case(
            "client-chosen module qualifier inline",
            enforce,
            one(BOB, cmd("Microsoft.Exchange\\New-JournalRule")),
            Deny(NeedsGrant, "New-JournalRule", Some("C-1"), 0, 0),
        ),
        case(
            "client-chosen module qualifier field",
            enforce,
            one(BOB, qualified("tmp_abc.def", "New-JournalRule")),
            Deny(NeedsGrant, "New-JournalRule", Some("C-1"), 0, 0),
        ),
        case(
            "qualified call with a grant passes",
            enforce,
            one(ALICE, qualified("Exchange", "New-JournalRule")),
            Allow(Policy, &["G-1"]),
        ),
        case(
            "denied command in a second statement denies all",
            enforce,
            inv(
                BOB,
                vec![vec![cmd("Get-Mailbox")], vec![cmd("Remove-Mailbox")]],
            ),
            Deny(NeedsGrant, "Remove-Mailbox", Some("C-3"), 1, 0),
        ),
        case(
            "denied command later in a pipeline denies all",
            enforce,
            inv(BOB, vec![vec![cmd("Get-Mailbox"), cmd("Remove-Mailbox")]]),
            Deny(NeedsGrant, "Remove-Mailbox", Some("C-3"), 0, 1),
        ),
        case(
            "same grant used twice is listed once",
            enforce,
            inv(
                ALICE,
                vec![vec![cmd("New-JournalRule")], vec![cmd("new-journalrule")]],
            ),
            Allow(Policy, &["G-1"]),
        ),
        case(
            "empty invocation",
            enforce,
            inv(BOB, vec![]),
            Deny(Empty, "", None, 0, 0),
        ),
        case(
            "empty statements only",
            enforce,
            inv(BOB, vec![vec![], vec![]]),
            Deny(Empty, "", None, 0, 0),
        ),
        case(
            "script text",
            enforce,
            one(BOB, script("Remove-Mailbox x")),
            Deny(Script, "script", None, 0, 0),
        ),
        case(
            "script block argument",
            enforce,
            one(BOB, with_block(cmd("Get-Mailbox"))),
            Deny(Script, "Get-Mailbox", None, 0, 0),
        ),
        case(
            "iex alias",
            enforce,
            one(BOB, cmd("iex")),
            Deny(Script, "Invoke-Expression", None, 0, 0),
        ),
        case(
            "qualified IEX",
            enforce,
            one(BOB, cmd("Microsoft.PowerShell.Utility\\IEX")),
            Deny(Script, "Invoke-Expression", None, 0, 0),
        ),
        case(
            "percent alias",
            enforce,
            one(BOB, cmd("%")),
            Deny(Script, "ForEach-Object", None, 0, 0),
        ),
        case(
            "where without a block passes",
            enforce,
            one(BOB, cmd("?")),
            Allow(Policy, &[]),
        ),
        case(
            "where with a block",
            enforce,
            one(BOB, with_block(cmd("where"))),
            Deny(Script, "Where-Object", None, 0, 0),
        ),
        case(
            "Set-Alias",
            enforce,
            one(BOB, cmd("sal")),
            Deny(Script, "Set-Alias", None, 0, 0),
        ),
        case(
            "function drive",
            enforce,
            one(BOB, with_param(cmd("ni"), "Path", json!("function:\\x"))),
            Deny(Script, "New-Item", None, 0, 0),
        ),
        case(
            "ordinary New-Item passes",
            enforce,
            one(
                BOB,
                with_param(cmd("New-Item"), "Path", json!("C:\\temp\\a.txt")),
            ),
            Allow(Policy, &[]),
        ),
        case(
            "interpreter",
            enforce,
            one(BOB, cmd("powershell.exe")),
            Deny(Script, "powershell.exe", None, 0, 0),
        ),
        case(
            "script file path",
            enforce,
            one(BOB, cmd("C:\\x\\run.ps1")),
            Deny(Script, "run.ps1", None, 0, 0),
        ),
        case(
            "system account is exempt from policies",
            enforce,
            one("svc-backup@contoso.com", cmd("Remove-Mailbox")),
            Allow(SystemAccount, &[]),
        ),
        case(
            "system account is not exempt from scripts",
            enforce,
            one("SVC-Backup@contoso.com", script("x")),
            Deny(Script, "script", None, 0, 0),
        ),
        case(
            "strict: uncovered and not allow-listed",
            strict,
            one(BOB, cmd("Remove-Item")),
            Deny(NotAllowListed, "Remove-Item", None, 0, 0),
        ),
        case(
            "strict: allow-listed pattern",
            strict,
            one(BOB, cmd("get-MAILBOX")),
            Allow(Policy, &[]),
        ),
        case(
            "strict: covered and granted passes",
            strict,
            one(ALICE, cmd("New-JournalRule")),
            Allow(Policy, &["G-1"]),
        ),
        case(
            "strict: covered without grant needs grant",
            strict,
            one(BOB, cmd("New-JournalRule")),
            Deny(NeedsGrant, "New-JournalRule", Some("C-1"), 0, 0),
        ),
        case(
            "strict: system account bypasses the allow-list",
            strict,
            one("svc-backup@contoso.com", cmd("Remove-Item")),
            Allow(SystemAccount, &[]),
        ),
        case(
            "scripts allowed: script passes",
            scripts_allowed,
            one(BOB, script("anything")),
            Allow(Policy, &[]),
        ),
        case(
            "scripts allowed: iex still matched by name",
            scripts_allowed,
            one(BOB, cmd("iex")),
            Allow(Policy, &[]),
        ),
        case(
            "scripts allowed: covered cmdlet still needs a grant",
            scripts_allowed,
            one(BOB, with_block(cmd("New-JournalRule"))),
            Deny(NeedsGrant, "New-JournalRule", Some("C-1"), 0, 0),
        ),
        case(
            "scripts allowed, strict: iex is not allow-listed",
            strict_scripts_allowed,
            one(BOB, cmd("iex")),
            Deny(NotAllowListed, "Invoke-Expression", None, 0, 0),
        ),
        case(
            "PAM off allows covered cmdlets",
            off,
            one(BOB, cmd("Remove-Mailbox")),
            Allow(PamDisabled, &[]),
        ),
        case(
            "PAM off allows scripts",
            off,
            one(BOB, script("x")),
            Allow(PamDisabled, &[]),
        ),
        case(
            "shadow decides like enforce",
            shadow,
            one(BOB, cmd("Remove-Mailbox")),
            Deny(NeedsGrant, "Remove-Mailbox", Some("C-3"), 0, 0),
        ),
    ];
    let mut expired = case(
        "grant expired",
        enforce,
        one(ALICE, cmd("New-JournalRule")),
        Deny(NeedsGrant, "New-JournalRule", Some("C-1"), 0, 0),
    );
    expired.now = NOW + HOUR;
    v.push(expired);
    let mut last_ms = case(
        "grant live in its last millisecond",
        enforce,
        one(ALICE, cmd("New-JournalRule")),
        Allow(Policy, &["G-1"]),
    );
    last_ms.now = NOW + HOUR - 1;
    v.push(last_ms);
    v
}

#[test]
fn decide_table() {
    let grants = grants();
    let mut failures = Vec::new();
    for c in cases() {
        let mut pam = pam();
        (c.pam)(&mut pam);
        let policies = policies_with(&pam);
        let got = decide(&c.inv, &policies, &grants, &NoLimits, c.now);
        if let Err(why) = check(&got, &c.expect) {
            failures.push(format!("{}: {why}\n  got {got:?}", c.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing cases:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn check(got: &Decision, expect: &Expect) -> Result<(), String> {
    match (got, expect) {
        (Decision::Allow(a), Expect::Allow(basis, ids)) => {
            let used: Vec<&str> = a.grants_used.iter().map(|g| g.grant_id.as_str()).collect();
            if a.basis != *basis || used != *ids {
                return Err(format!("expected allow {basis:?} {ids:?}"));
            }
            Ok(())
        }
        (Decision::Deny(d), Expect::Deny(kind, cmdlet, policy, stmt, pos)) => {
            let ok = d.kind == *kind
                && d.cmdlet == *cmdlet
                && d.policy_id.as_deref() == *policy
                && d.statement == *stmt
                && d.position == *pos;
            if !ok {
                return Err(format!(
                    "expected deny {kind:?} {cmdlet:?} {policy:?} at {stmt}.{pos}"
                ));
            }
            Ok(())
        }
        _ => Err(format!("expected {expect:?}")),
    }
}

#[test]
fn refusal_text_names_cmdlet_policy_principal_and_the_request_command() {
    let d = decide(
        &one(BOB, cmd("New-JournalRule")),
        &policies(),
        &grants(),
        &NoLimits,
        NOW,
    );
    let Decision::Deny(d) = d else {
        panic!("expected deny, got {d:?}")
    };
    assert_eq!(
        d.reason,
        "New-JournalRule requires approval (policy C-1, approvers pam-approvers), and \
         bob@contoso.com has no active grant for it. Request it with: runspace-gateway request \
         new --task New-JournalRule --reason \"...\" --hours 4"
    );
    assert_eq!(
        d.how_to_request.as_deref(),
        Some("runspace-gateway request new --task New-JournalRule --reason \"...\" --hours 4")
    );
    assert_eq!(d.principal, BOB);
}

#[test]
fn role_policies_ask_for_the_role_and_cap_the_hours() {
    let d = decide(
        &one(BOB, cmd("Set-JournalRule")),
        &policies(),
        &grants(),
        &NoLimits,
        NOW,
    );
    let Decision::Deny(d) = d else {
        panic!("expected deny, got {d:?}")
    };
    assert_eq!(
        d.how_to_request.as_deref(),
        Some("runspace-gateway request new --role journaling --reason \"...\" --hours 2")
    );
    assert!(
        d.reason.contains("approved automatically on request"),
        "{}",
        d.reason
    );
    let d = decide(
        &one(BOB, cmd("New-TransportRule")),
        &policies(),
        &grants(),
        &NoLimits,
        NOW,
    );
    let Decision::Deny(d) = d else {
        panic!("expected deny, got {d:?}")
    };
    assert!(d.reason.contains("--role transport"), "{}", d.reason);
}

#[test]
fn alias_refusals_say_how_the_cmdlet_was_called() {
    let d = decide(
        &one(BOB, cmd("iex")),
        &policies(),
        &grants(),
        &NoLimits,
        NOW,
    );
    let Decision::Deny(d) = d else {
        panic!("expected deny, got {d:?}")
    };
    assert!(
        d.reason
            .starts_with("Invoke-Expression (called as iex) runs a string"),
        "{}",
        d.reason
    );
    assert!(
        d.reason.contains(BOB) && d.reason.contains("scripts = \"deny\""),
        "{}",
        d.reason
    );
}

#[test]
fn script_refusals_never_echo_the_script() {
    let secret = "Remove-Mailbox ceo -Confirm:$false # long script text";
    let d = decide(
        &one(BOB, script(secret)),
        &policies(),
        &grants(),
        &NoLimits,
        NOW,
    );
    let Decision::Deny(d) = d else {
        panic!("expected deny, got {d:?}")
    };
    assert!(!d.reason.contains("ceo"), "{}", d.reason);
}

#[test]
fn rate_limits_are_asked_only_for_allowed_invocations() {
    let limits = CountingLimits::default();
    let denied = decide(
        &one(BOB, cmd("Remove-Mailbox")),
        &policies(),
        &grants(),
        &limits,
        NOW,
    );
    assert!(matches!(denied, Decision::Deny(_)));
    assert_eq!(limits.count(), 0);
    let allowed = decide(
        &one(BOB, cmd("Get-Mailbox")),
        &policies(),
        &grants(),
        &limits,
        NOW,
    );
    assert!(matches!(allowed, Decision::Allow(_)));
    assert_eq!(limits.count(), 1);
}

#[test]
fn throttle_replaces_allow_and_is_refused_in_every_mode() {
    let limits = CountingLimits {
        throttle: true,
        ..Default::default()
    };
    let d = decide(
        &one(BOB, cmd("Get-Mailbox")),
        &policies(),
        &grants(),
        &limits,
        NOW,
    );
    let Decision::Throttle(t) = &d else {
        panic!("expected throttle, got {d:?}")
    };
    assert_eq!((t.rule.as_str(), t.retry_after_ms), ("per-user", 1_500));
    assert!(d.refuses(true) && d.refuses(false));
    let mut off_pam = pam();
    off_pam.enabled = false;
    let d = decide(
        &one(BOB, cmd("Get-Mailbox")),
        &policies_with(&off_pam),
        &grants(),
        &limits,
        NOW,
    );
    assert!(
        matches!(d, Decision::Throttle(_)),
        "rate limits apply with PAM off: {d:?}"
    );
}

#[test]
fn shadow_mode_denial_is_not_refused() {
    let mut p = pam();
    p.mode = PamMode::Shadow;
    let policies = policies_with(&p);
    let d = decide(
        &one(BOB, cmd("Remove-Mailbox")),
        &policies,
        &grants(),
        &NoLimits,
        NOW,
    );
    assert!(matches!(d, Decision::Deny(_)));
    assert!(!policies.enforcing());
    assert!(!d.refuses(policies.enforcing()));
    assert!(d.refuses(policies_with(&pam()).enforcing()));
}

#[test]
fn grants_used_carry_request_and_approver_for_audit() {
    let d = decide(
        &one(ALICE, cmd("New-JournalRule")),
        &policies(),
        &grants(),
        &NoLimits,
        NOW,
    );
    let Decision::Allow(a) = d else {
        panic!("expected allow, got {d:?}")
    };
    let g = &a.grants_used[0];
    assert_eq!(
        (
            g.policy_id.as_str(),
            g.grant_id.as_str(),
            g.request_id.as_str(),
            g.approver.as_str()
        ),
        ("C-1", "G-1", "R-G-1", "bob@contoso.com")
    );
    assert_eq!(g.cmdlet, "New-JournalRule");
}

#[test]
fn revoking_a_grant_refuses_the_next_call() {
    let grants = grants();
    let call = one(ALICE, cmd("New-JournalRule"));
    assert!(matches!(
        decide(&call, &policies(), &grants, &NoLimits, NOW),
        Decision::Allow(_)
    ));
    grants.revoke("G-1");
    assert!(matches!(
        decide(&call, &policies(), &grants, &NoLimits, NOW),
        Decision::Deny(_)
    ));
}
