//! Rate limits with a fake clock: bursts, refills, isolation between callers, several rules,
//! hot reload, the key bound and the status.

use runspace_gateway::clock::{Clock, FakeClock};
use runspace_gateway::config::RateLimitRule;
use runspace_gateway::invocation::{Command, Invocation, Protocol};
use runspace_gateway::policy::{RateCheck, Throttle};
use runspace_gateway::ratelimit::{RateLimiter, NO_TENANT_KEY};
use std::sync::Arc;

#[derive(serde::Deserialize)]
struct Rules {
    ratelimit: Vec<RateLimitRule>,
}

fn rules(text: &str) -> Vec<RateLimitRule> {
    toml::from_str::<Rules>(text).unwrap().ratelimit
}

fn command(name: &str) -> Command {
    Command {
        name: name.to_string(),
        module: None,
        params: vec![],
        positional: vec![],
        is_script: false,
        has_script_block: false,
    }
}

fn pipeline(principal: &str, tenant: Option<&str>, cmdlets: &[&str]) -> Invocation {
    Invocation {
        principal: principal.to_string(),
        protocol: Protocol::Rest,
        tenant: tenant.map(str::to_string),
        shell_id: None,
        command_id: None,
        statements: vec![cmdlets.iter().map(|c| command(c)).collect()],
    }
}

fn call(principal: &str, cmdlet: &str) -> Invocation {
    pipeline(principal, Some("contoso"), &[cmdlet])
}

struct Fixture {
    clock: FakeClock,
    limiter: RateLimiter,
}

impl Fixture {
    fn new(text: &str) -> Self {
        let clock = FakeClock::new(1_700_000_000_000);
        let limiter = RateLimiter::new(&rules(text), Arc::new(clock.clone())).unwrap();
        Fixture { clock, limiter }
    }
    fn check(&self, inv: &Invocation) -> Result<(), Throttle> {
        self.limiter.check(inv, self.clock.now_ms())
    }
    fn rule_of(&self, inv: &Invocation) -> String {
        self.check(inv).unwrap_err().rule
    }
}

const PER_USER: &str = r#"
[[ratelimit]]
name = "per-user"
key = "principal"
per_minute = 60
burst = 3
"#;

#[test]
fn per_principal_burst_is_allowed_then_throttled_until_the_quota_refills() {
    let f = Fixture::new(PER_USER);
    let get = call("alice@contoso.com", "Get-Mailbox");
    for i in 0..3 {
        assert!(f.check(&get).is_ok(), "call {i} is within the burst");
    }
    let t = f.check(&get).unwrap_err();
    assert_eq!(t.rule, "per-user");
    assert_eq!(
        t.retry_after_ms, 1_000,
        "60 per minute refills one call per second"
    );

    f.clock.advance_ms(999);
    assert!(f.check(&get).is_err(), "not refilled 1 ms early");
    f.clock.advance_ms(1);
    assert!(
        f.check(&get).is_ok(),
        "one call refilled after the retry-after"
    );
    assert!(f.check(&get).is_err(), "and only one");
}

#[test]
fn a_rule_per_cmdlet_counts_each_matching_cmdlet_separately() {
    let f = Fixture::new(
        r#"
[[ratelimit]]
name = "gets"
key = "principal+cmdlet"
cmdlets = ["Get-*"]
per_second = 1
burst = 2
"#,
    );
    let alice = "alice@contoso.com";
    assert!(f.check(&call(alice, "Get-Mailbox")).is_ok());
    assert!(
        f.check(&call(alice, "get-mailbox")).is_ok(),
        "names compare ignoring case"
    );
    let t = f.check(&call(alice, "GET-MAILBOX")).unwrap_err();
    assert_eq!((t.rule.as_str(), t.retry_after_ms), ("gets", 1_000));

    assert!(
        f.check(&call(alice, "Get-User")).is_ok(),
        "another cmdlet has its own bucket"
    );
    for _ in 0..5 {
        assert!(
            f.check(&call(alice, "Set-Mailbox")).is_ok(),
            "Set-* is not covered"
        );
    }
    f.clock.advance_ms(1_000);
    assert!(f.check(&call(alice, "Get-Mailbox")).is_ok(), "refilled");
}

#[test]
fn one_users_throttling_never_affects_another() {
    let f = Fixture::new(PER_USER);
    let alice = call("alice@contoso.com", "Get-Mailbox");
    let bob = call("bob@contoso.com", "Get-Mailbox");
    for _ in 0..3 {
        f.check(&alice).unwrap();
    }
    for _ in 0..50 {
        assert!(f.check(&alice).is_err());
    }
    for i in 0..3 {
        assert!(f.check(&bob).is_ok(), "bob's call {i} has his whole burst");
    }
    assert!(f.check(&bob).is_err());
}

#[test]
fn every_rule_must_pass_and_a_callers_own_refusal_spends_no_shared_budget() {
    let f = Fixture::new(
        r#"
[[ratelimit]]
name = "everyone"
key = "global"
per_hour = 4

[[ratelimit]]
name = "per-user"
key = "principal"
per_hour = 2
"#,
    );
    let (alice, bob, carol) = (
        call("alice@contoso.com", "Get-Mailbox"),
        call("bob@contoso.com", "Get-Mailbox"),
        call("carol@contoso.com", "Get-Mailbox"),
    );
    f.check(&alice).unwrap();
    f.check(&alice).unwrap();
    for _ in 0..8 {
        assert_eq!(
            f.rule_of(&alice),
            "per-user",
            "alice's own rule refuses first"
        );
    }
    f.check(&bob).unwrap();
    f.check(&bob).unwrap();
    assert_eq!(
        f.rule_of(&carol),
        "everyone",
        "the global budget is spent by the 4 allowed calls only"
    );
}

#[test]
fn each_command_of_a_pipeline_counts_and_a_pipeline_over_the_burst_needs_a_full_bucket() {
    let f = Fixture::new(PER_USER);
    let three = pipeline(
        "alice@contoso.com",
        None,
        &["Get-Mailbox", "Select-Object", "Sort-Object"],
    );
    assert!(
        f.check(&three).is_ok(),
        "three commands fit a burst of three"
    );
    assert_eq!(
        f.rule_of(&call("alice@contoso.com", "Get-User")),
        "per-user"
    );

    f.clock.advance_ms(2_000);
    let five = pipeline("alice@contoso.com", None, &["a", "b", "c", "d", "e"]);
    assert!(
        f.check(&five).is_err(),
        "two refilled cells are not a full bucket"
    );
    f.clock.advance_ms(1_000);
    assert!(
        f.check(&five).is_ok(),
        "a full bucket lets a longer pipeline through"
    );
    assert!(
        f.check(&call("alice@contoso.com", "Get-User")).is_err(),
        "and empties it"
    );
}

#[test]
fn script_text_is_counted_only_by_rules_covering_every_command() {
    let f = Fixture::new(
        r#"
[[ratelimit]]
name = "gets"
key = "principal+cmdlet"
cmdlets = ["Get-*"]
per_hour = 1

[[ratelimit]]
name = "all"
key = "principal+cmdlet"
cmdlets = ["*"]
per_hour = 2
"#,
    );
    let mut script = call("alice@contoso.com", "Get-Mailbox | Remove-Mailbox");
    script.statements[0][0].is_script = true;
    f.check(&script).unwrap();
    f.check(&script).unwrap();
    assert_eq!(
        f.rule_of(&script),
        "all",
        "`Get-*` never matched the script text"
    );
}

#[test]
fn tenant_rules_share_one_bucket_for_calls_without_a_tenant() {
    let f = Fixture::new("[[ratelimit]]\nname = \"t\"\nkey = \"tenant\"\nper_hour = 1\n");
    f.check(&pipeline("a@x", None, &["Get-User"])).unwrap();
    assert!(f.check(&pipeline("b@x", None, &["Get-User"])).is_err());
    f.check(&pipeline("b@x", Some("fabrikam"), &["Get-User"]))
        .unwrap();
    let status = f.limiter.status(f.clock.now_ms());
    assert_eq!(status.top_throttled[0].key, NO_TENANT_KEY);
}

#[test]
fn reload_raises_a_limit_without_a_restart() {
    let f = Fixture::new(PER_USER);
    let get = call("alice@contoso.com", "Get-Mailbox");
    for _ in 0..3 {
        f.check(&get).unwrap();
    }
    assert!(f.check(&get).is_err());

    let summary = f
        .limiter
        .reload(&rules(&PER_USER.replace("burst = 3", "burst = 10")))
        .unwrap();
    assert_eq!(summary.added, ["per-user"]);
    assert_eq!(summary.removed, ["per-user"]);
    for i in 0..10 {
        assert!(f.check(&get).is_ok(), "call {i} is within the raised burst");
    }
    assert!(f.check(&get).is_err());
}

#[test]
fn reload_keeps_the_counters_of_rules_that_did_not_change() {
    let before = r#"
[[ratelimit]]
name = "everyone"
key = "global"
per_hour = 4

[[ratelimit]]
name = "per-user"
key = "principal"
per_hour = 2
"#;
    let f = Fixture::new(before);
    let (alice, bob) = (
        call("alice@contoso.com", "Get-Mailbox"),
        call("bob@contoso.com", "Get-Mailbox"),
    );
    for _ in 0..2 {
        f.check(&alice).unwrap();
        f.check(&bob).unwrap();
    }
    let summary = f
        .limiter
        .reload(&rules(&before.replace("per_hour = 2", "per_hour = 100")))
        .unwrap();
    assert_eq!(summary.kept, ["everyone"]);
    assert_eq!(summary.added, ["per-user"]);
    assert_eq!(
        f.rule_of(&alice),
        "everyone",
        "the raised per-user rule passes, the unchanged global rule is still spent"
    );
    assert_eq!(
        f.limiter.status(f.clock.now_ms()).rules[1].throttled_total,
        1
    );
}

#[test]
fn an_invalid_reload_keeps_the_old_limit_and_names_the_key() {
    let f = Fixture::new(PER_USER);
    let get = call("alice@contoso.com", "Get-Mailbox");
    for _ in 0..3 {
        f.check(&get).unwrap();
    }
    let err = f
        .limiter
        .reload(&rules(&PER_USER.replace("burst = 3", "burst = 0")))
        .unwrap_err();
    assert_eq!(err.key, "ratelimit[0]");
    assert!(err.message.contains("greater than 0"), "{}", err.message);
    assert_eq!(
        f.rule_of(&get),
        "per-user",
        "the old rule and its counters are still in force"
    );
    f.clock.advance_ms(1_000);
    assert!(f.check(&get).is_ok());
}

#[test]
fn the_key_bound_admits_exactly_max_keys_then_fails_closed_until_keys_go_idle() {
    let f = Fixture::new(
        "[[ratelimit]]\nname = \"bounded\"\nkey = \"principal\"\nper_hour = 2\nmax_keys = 3\n",
    );
    for user in ["u1", "u2", "u3"] {
        assert!(
            f.check(&call(user, "Get-User")).is_ok(),
            "{user} fits under the bound"
        );
    }
    let t = f.check(&call("u4", "Get-User")).unwrap_err();
    assert_eq!(
        t.rule, "bounded",
        "a fourth key is refused while all three are active"
    );
    assert_eq!(
        t.retry_after_ms, 3_600_000,
        "retry once a full burst has refilled"
    );
    assert!(
        f.check(&call("u1", "Get-User")).is_ok(),
        "known keys keep their quota"
    );
    assert_eq!(f.limiter.status(f.clock.now_ms()).rules[0].active_keys, 3);

    f.clock.advance_ms(3_600_000);
    assert!(
        f.check(&call("u4", "Get-User")).is_ok(),
        "idle keys were evicted to admit u4"
    );
    assert!(f.limiter.status(f.clock.now_ms()).rules[0].active_keys <= 3);
}

#[test]
fn cleanup_evicts_idle_keys() {
    let f = Fixture::new(PER_USER);
    for i in 0..100 {
        f.check(&call(&format!("user{i}@contoso.com"), "Get-User"))
            .unwrap();
    }
    assert_eq!(f.limiter.cleanup(f.clock.now_ms()), 100, "active keys stay");
    f.clock.advance_ms(10_000);
    assert_eq!(f.limiter.cleanup(f.clock.now_ms()), 0, "idle keys go");
}

#[test]
fn status_lists_rules_with_quotas_and_the_most_throttled_keys() {
    let f = Fixture::new(PER_USER);
    let (alice, bob) = (
        call("alice@contoso.com", "Get-Mailbox"),
        call("bob@contoso.com", "Get-Mailbox"),
    );
    for _ in 0..3 {
        f.check(&alice).unwrap();
        f.check(&bob).unwrap();
    }
    for _ in 0..4 {
        f.check(&alice).unwrap_err();
    }
    f.check(&bob).unwrap_err();
    let status = f.limiter.status(f.clock.now_ms());
    let rule = &status.rules[0];
    assert_eq!(
        (rule.name.as_str(), rule.key.as_str()),
        ("per-user", "principal")
    );
    assert_eq!(
        (rule.quota.count, rule.quota.per.as_str(), rule.burst),
        (60, "minute", 3)
    );
    assert_eq!(rule.throttled_total, 5);
    let top: Vec<_> = status
        .top_throttled
        .iter()
        .map(|k| (k.key.as_str(), k.count))
        .collect();
    assert_eq!(top, [("alice@contoso.com", 4), ("bob@contoso.com", 1)]);
    let json = serde_json::to_value(&status).unwrap();
    assert_eq!(json["rules"][0]["quota"]["per"], "minute");
}

#[test]
fn at_the_bound_idle_keys_are_swept_at_most_once_per_interval() {
    use runspace_gateway::ratelimit::SWEEP_MIN_INTERVAL_MS;
    let f = Fixture::new("[[ratelimit]]\nname = \"b\"\nkey = \"principal\"\nper_second = 10\nburst = 1\nmax_keys = 1\n");
    f.check(&call("u1", "Get-User")).unwrap();
    f.clock.advance_ms(1_000);
    assert!(
        f.check(&call("u2", "Get-User")).is_ok(),
        "the first sweep evicts idle u1"
    );
    f.clock.advance_ms(500);
    assert!(
        f.check(&call("u3", "Get-User")).is_err(),
        "u2 is idle by now, but the last sweep was under {SWEEP_MIN_INTERVAL_MS} ms ago"
    );
    f.clock.advance_ms(500);
    assert!(
        f.check(&call("u3", "Get-User")).is_ok(),
        "the next sweep is due and evicts u2"
    );
}

#[test]
fn concurrent_callers_never_get_more_than_the_burst() {
    let f = Arc::new(Fixture::new(
        "[[ratelimit]]\nname = \"g\"\nkey = \"global\"\nper_hour = 50\n",
    ));
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let f = f.clone();
            std::thread::spawn(move || {
                let inv = call(&format!("user{t}"), "Get-User");
                (0..100).filter(|_| f.check(&inv).is_ok()).count()
            })
        })
        .collect();
    let allowed: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(allowed, 50);
}

#[test]
fn two_identical_rules_keep_separate_state_across_a_reload() {
    let text = "[[ratelimit]]\nkey = \"principal\"\nper_hour = 1\n\n[[ratelimit]]\nkey = \"principal\"\nper_hour = 1\n";
    let f = Fixture::new(text);
    f.check(&call("alice", "Get-User")).unwrap();
    let summary = f.limiter.reload(&rules(text)).unwrap();
    assert_eq!(summary.kept, ["ratelimit[0]", "ratelimit[1]"]);
    assert!(summary.is_unchanged());
    assert_eq!(
        f.rule_of(&call("alice", "Get-User")),
        "ratelimit[0]",
        "both kept their spent cell"
    );
}

#[test]
fn names_match_as_policies_match_them_so_no_spelling_escapes_a_rule() {
    let f = Fixture::new(
        r#"
[[ratelimit]]
name = "iex"
key = "principal+cmdlet"
cmdlets = ["Invoke-Expression"]
per_hour = 3

[[ratelimit]]
name = "sets"
key = "principal"
cmdlets = ["Set-?ailbox"]
per_hour = 2
"#,
    );
    let a = "alice@contoso.com";
    f.check(&call(a, "iex")).unwrap();
    f.check(&call(a, "Microsoft.PowerShell.Utility\\Invoke-Expression"))
        .unwrap();
    f.check(&call(a, "INVOKE-EXPRESSION")).unwrap();
    assert_eq!(
        f.rule_of(&call(a, "ınvoke-Expression")),
        "iex",
        "alias, qualifier, case and dotless i share one key"
    );

    f.check(&call("ALICE@contoso.com", "Set-Mailbox")).unwrap();
    f.check(&call(a, "\u{17f}et-Mailbox")).unwrap();
    assert_eq!(
        f.rule_of(&call(a, "set-mailbox")),
        "sets",
        "principal case and long s fold too"
    );
}

#[test]
fn decide_reports_the_limiters_throttle_with_rule_and_retry_after() {
    use runspace_gateway::grants::Grants;
    use runspace_gateway::policy::{decide, Decision, Policies};
    let f = Fixture::new(PER_USER);
    let (policies, grants) = (Policies::disabled(), Grants::new());
    let get = call("alice@contoso.com", "Get-Mailbox");
    for _ in 0..3 {
        let d = decide(&get, &policies, &grants, &f.limiter, f.clock.now_ms());
        assert!(matches!(d, Decision::Allow(_)), "{d:?}");
    }
    match decide(&get, &policies, &grants, &f.limiter, f.clock.now_ms()) {
        Decision::Throttle(t) => {
            assert_eq!((t.rule.as_str(), t.retry_after_ms), ("per-user", 1_000))
        }
        other => panic!("expected a throttle, got {other:?}"),
    }
}

#[test]
fn reloads_racing_with_calls_never_reset_an_unchanged_rule() {
    let text = "[[ratelimit]]\nname = \"g\"\nkey = \"global\"\nper_hour = 50\n";
    let f = Arc::new(Fixture::new(text));
    let callers: Vec<_> = (0..4)
        .map(|t| {
            let f = f.clone();
            std::thread::spawn(move || {
                let inv = call(&format!("user{t}"), "Get-User");
                (0..100).filter(|_| f.check(&inv).is_ok()).count()
            })
        })
        .collect();
    let new_rules = rules(text);
    for _ in 0..200 {
        assert_eq!(f.limiter.reload(&new_rules).unwrap().kept, ["g"]);
    }
    let allowed: usize = callers.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(allowed, 50, "the burst was shared across every swap");
}
