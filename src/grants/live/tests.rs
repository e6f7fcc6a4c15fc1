use super::*;

fn grant(id: &str, principal: &str, scope: GrantScope, from: Millis, to: Millis) -> GrantRecord {
    GrantRecord {
        id: id.into(),
        principal: principal.into(),
        scope,
        policy_id: "C-1".into(),
        starts_at_ms: from,
        expires_at_ms: to,
        request_id: format!("R-{id}"),
        approver: "bob@contoso.com".into(),
    }
}

fn task(name: &str) -> GrantScope {
    GrantScope::Task(name.into())
}

fn find(g: &Grants, principal: &str, key: &str, now: Millis) -> Option<String> {
    g.find(principal, key, now, |_| false, |_| true)
        .map(|r| r.id)
}

#[test]
fn a_grant_is_live_from_start_until_just_before_expiry() {
    let g = Grants::new();
    g.insert(grant(
        "G-1",
        "alice@contoso.com",
        task("New-JournalRule"),
        100,
        200,
    ))
    .unwrap();
    assert_eq!(find(&g, "alice@contoso.com", "new-journalrule", 99), None);
    assert_eq!(
        find(&g, "alice@contoso.com", "new-journalrule", 100).as_deref(),
        Some("G-1")
    );
    assert_eq!(
        find(&g, "alice@contoso.com", "new-journalrule", 199).as_deref(),
        Some("G-1")
    );
    assert_eq!(find(&g, "alice@contoso.com", "new-journalrule", 200), None);
}

#[test]
fn grants_belong_to_one_principal_and_one_task() {
    let g = Grants::new();
    g.insert(grant(
        "G-1",
        "Alice@Contoso.com",
        task("Exchange\\New-JournalRule"),
        0,
        10,
    ))
    .unwrap();
    assert!(find(&g, "alice@contoso.com", "new-journalrule", 5).is_some());
    assert!(find(&g, "mallory@contoso.com", "new-journalrule", 5).is_none());
    assert!(find(&g, "alice@contoso.com", "set-journalrule", 5).is_none());
    assert_eq!(g.active_for("ALICE@contoso.com", 5).len(), 1);
}

#[test]
fn role_grants_ask_the_role_and_policy_checks_are_applied() {
    let g = Grants::new();
    g.insert(grant(
        "G-2",
        "alice@contoso.com",
        GrantScope::Role("journaling".into()),
        0,
        10,
    ))
    .unwrap();
    let role = |r: &str| r == "journaling";
    assert!(g
        .find("alice@contoso.com", "set-journalrule", 5, role, |_| true)
        .is_some());
    assert!(g
        .find(
            "alice@contoso.com",
            "set-journalrule",
            5,
            |_| false,
            |_| true
        )
        .is_none());
    assert!(g
        .find("alice@contoso.com", "set-journalrule", 5, role, |p| p
            == "C-9")
        .is_none());
}

#[test]
fn pattern_and_alias_task_grants_match_folded_names() {
    let g = Grants::new();
    g.insert(grant(
        "G-3",
        "alice@contoso.com",
        task("Set-Journal*"),
        0,
        10,
    ))
    .unwrap();
    g.insert(grant("G-4", "alice@contoso.com", task("iex"), 0, 10))
        .unwrap();
    assert_eq!(
        find(&g, "alice@contoso.com", "set-journalrule", 1).as_deref(),
        Some("G-3")
    );
    assert_eq!(
        find(&g, "alice@contoso.com", "invoke-expression", 1).as_deref(),
        Some("G-4")
    );
}

#[test]
fn revoke_removes_at_once_and_reinsert_replaces() {
    let g = Grants::new();
    g.insert(grant("G-1", "alice@contoso.com", task("A"), 0, 10))
        .unwrap();
    g.insert(grant("G-1", "bob@contoso.com", task("A"), 0, 10))
        .unwrap();
    assert_eq!(g.len(), 1);
    assert!(find(&g, "alice@contoso.com", "a", 1).is_none());
    assert_eq!(
        g.revoke("G-1").map(|r| r.principal),
        Some("bob@contoso.com".to_string())
    );
    assert!(find(&g, "bob@contoso.com", "a", 1).is_none());
    assert!(g.revoke("G-1").is_none());
    assert!(g.is_empty());
}

#[test]
fn sweep_removes_expired_grants_only() {
    let g = Grants::new();
    g.insert(grant("G-1", "alice@contoso.com", task("A"), 0, 10))
        .unwrap();
    g.insert(grant("G-2", "alice@contoso.com", task("A"), 0, 20))
        .unwrap();
    g.insert(grant(
        "G-3",
        "bob@contoso.com",
        GrantScope::Role("r".into()),
        0,
        10,
    ))
    .unwrap();
    let mut gone: Vec<_> = g.sweep(10).into_iter().map(|r| r.id).collect();
    gone.sort();
    assert_eq!(gone, ["G-1", "G-3"]);
    assert_eq!(g.len(), 1);
    assert_eq!(
        find(&g, "alice@contoso.com", "a", 15).as_deref(),
        Some("G-2")
    );
    assert!(g.revoke("G-1").is_none());
}

#[test]
fn an_empty_task_is_refused_with_the_grant_id() {
    let g = Grants::new();
    let e = g.insert(grant("G-9", "a", task("  "), 0, 1)).unwrap_err();
    assert!(e.to_string().starts_with("grant G-9: task"), "{e}");
    assert!(g.is_empty());
}
