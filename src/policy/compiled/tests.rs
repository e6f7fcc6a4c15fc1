use super::*;
use crate::config::ApprovalKind;

fn record(id: &str, scope: Scope) -> PolicyRecord {
    PolicyRecord {
        id: id.into(),
        scope,
        approval: ApprovalKind::Manual,
        approvers: "pam-approvers".into(),
        max_hours: 8,
    }
}

fn roles() -> BTreeMap<String, Vec<String>> {
    let mut r = BTreeMap::new();
    r.insert(
        "journaling".to_string(),
        vec![
            "New-JournalRule".into(),
            "Set-JournalRule".into(),
            "*-TransportRule".into(),
        ],
    );
    r.insert("code".to_string(), vec!["iex".into()]);
    r
}

fn pam() -> PamConfig {
    PamConfig {
        enabled: true,
        ..PamConfig::default()
    }
}

fn compile(records: &[PolicyRecord]) -> Policies {
    Policies::compile(&pam(), &roles(), &BTreeMap::new(), records).unwrap()
}

#[test]
fn module_qualified_task_covers_every_spelling_of_the_cmdlet() {
    let p = compile(&[record(
        "C-1",
        Scope::Task("Exchange\\New-JournalRule".into()),
    )]);
    assert_eq!(p.covering("new-journalrule"), vec![0]);
    assert!(p.covering("set-journalrule").is_empty());
}

#[test]
fn roles_and_role_groups_cover_their_members_including_patterns() {
    let p = compile(&[
        record("C-1", Scope::Role("journaling".into())),
        record(
            "C-2",
            Scope::RoleGroup(vec!["code".into(), "journaling".into()]),
        ),
    ]);
    assert_eq!(p.covering("set-journalrule"), vec![0, 1]);
    assert_eq!(p.covering("remove-transportrule"), vec![0, 1]);
    assert_eq!(p.covering("invoke-expression"), vec![1]);
    assert!(p.role_covers("journaling", "new-transportrule"));
    assert!(!p.role_covers("journaling", "get-mailbox"));
    assert!(!p.role_covers("nosuchrole", "new-journalrule"));
}

#[test]
fn alias_written_policies_cover_the_cmdlet() {
    let p = compile(&[record("C-1", Scope::Task("icm".into()))]);
    assert_eq!(p.covering("invoke-command"), vec![0]);
}

#[test]
fn unknown_roles_duplicate_ids_and_bad_patterns_are_named() {
    let e = Policies::compile(
        &pam(),
        &roles(),
        &BTreeMap::new(),
        &[record("P-1", Scope::Role("nope".into()))],
    )
    .unwrap_err();
    assert_eq!(e.key, "policy P-1 role");
    assert!(e.message.contains("\"nope\""), "{e}");

    let twice = [
        record("P-1", Scope::Task("a".into())),
        record("P-1", Scope::Task("b".into())),
    ];
    let e = Policies::compile(&pam(), &roles(), &BTreeMap::new(), &twice).unwrap_err();
    assert_eq!(e.key, "policy P-1");

    let e = Policies::compile(
        &pam(),
        &roles(),
        &BTreeMap::new(),
        &[record("P-2", Scope::Task(" ".into()))],
    )
    .unwrap_err();
    assert_eq!(e.key, "policy P-2 task");

    let mut bad = pam();
    bad.always_allow = vec!["Get-*".into(), "Get-[x]".into()];
    let e = Policies::compile(&bad, &roles(), &BTreeMap::new(), &[]).unwrap_err();
    assert_eq!(e.key, "pam.always_allow[1]");
}

#[test]
fn settings_and_principals_are_folded() {
    let mut cfg = pam();
    cfg.system_accounts = vec![" SVC-Backup@Contoso.com".into()];
    cfg.always_allow = vec!["Get-*".into()];
    let mut groups = BTreeMap::new();
    groups.insert(
        "pam-approvers".to_string(),
        vec!["Bob@Contoso.com".to_string()],
    );
    let p = Policies::compile(&cfg, &roles(), &groups, &[]).unwrap();
    assert!(p.is_system_account("svc-backup@contoso.com"));
    assert!(p.always_allowed("get-mailbox"));
    assert!(!p.always_allowed("set-mailbox"));
    assert_eq!(
        p.group_members("pam-approvers"),
        Some(&["bob@contoso.com".to_string()][..])
    );
    assert!(p.enforcing());
}

#[test]
fn request_hours_are_capped_by_the_policy() {
    let mut short = record("C-1", Scope::Task("x".into()));
    short.max_hours = 2;
    let p = compile(&[short.clone()]).with_request_hours(6);
    assert_eq!(p.request_hours(&short), 2);
    let long = record("C-2", Scope::Task("y".into()));
    assert_eq!(p.request_hours(&long), 6);
}

#[test]
fn config_file_policies_get_c_ids_in_file_order_before_store_policies() {
    let text = r#"
[listen]
addr = "127.0.0.1:8443"
cert = "c.pem"
key = "k.pem"
[upstream]
url = "http://127.0.0.1:5985"
[pam]
enabled = true
[groups]
pam-approvers = ["bob@contoso.com"]
[roles]
journaling = ["New-JournalRule", "Set-JournalRule"]
[[policy]]
task = "New-JournalRule"
approval = "manual"
approvers = "pam-approvers"
[[policy]]
role = "journaling"
approval = "auto"
approvers = "pam-approvers"
"#;
    let config = Config::parse(text, std::path::Path::new("t.toml")).unwrap();
    let store = [record("P-1", Scope::Task("Remove-Mailbox".into()))];
    let p = Policies::from_config(&config, &store).unwrap();
    let ids: Vec<_> = p.policies().iter().map(|c| c.record.id.as_str()).collect();
    assert_eq!(ids, ["C-1", "C-2", "P-1"]);
    assert_eq!(p.covering("new-journalrule"), vec![0, 1]);
    assert_eq!(p.covering("remove-mailbox"), vec![2]);
}

#[test]
fn ten_thousand_policies_compile_and_match_without_globs() {
    let records: Vec<_> = (0..10_000)
        .map(|i| record(&format!("P-{i}"), Scope::Task(format!("Verb{i}-Noun{i}"))))
        .collect();
    let p = compile(&records);
    assert_eq!(p.covering("verb9999-noun9999"), vec![9_999]);
    assert_eq!(p.covering("verb0-noun0"), vec![0]);
    assert!(p.covering("verb10000-noun10000").is_empty());
    assert_eq!(p.glob_count(), 0);
}
