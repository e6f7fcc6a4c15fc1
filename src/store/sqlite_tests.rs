use super::*;
use crate::config::ApprovalKind;
use crate::grants::record::{GrantRecord, GrantScope};
use crate::policy::record::Scope;

fn none(_: &RequestRecord, _: Option<&GrantRecord>) -> Vec<OutboxMessage> {
    vec![]
}

fn quiet(_: &RequestRecord, _: Option<&GrantRecord>) -> Result<(), String> {
    Ok(())
}

fn quiet_policy(_: &PolicyRecord) -> Result<(), String> {
    Ok(())
}

fn open() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("sub/gateway.db")).unwrap();
    (dir, store)
}

fn new_request(state: RequestState) -> NewRequest {
    NewRequest {
        requester: "alice@contoso.com".into(),
        task: "New-JournalRule".into(),
        policy_id: "P-1".into(),
        approvers: "pam-approvers".into(),
        reason: "journal for legal hold".into(),
        hours: 4,
        state,
        created_at_ms: 1_000,
        pending_expires_at_ms: 1_000 + 24 * 3_600_000,
        decided_by: None,
    }
}

fn new_grant(expires_at_ms: i64) -> NewGrant {
    NewGrant {
        principal: "alice@contoso.com".into(),
        scope: GrantScope::Task("New-JournalRule".into()),
        policy_id: "P-1".into(),
        starts_at_ms: 2_000,
        expires_at_ms,
        approver: "bob@contoso.com".into(),
    }
}

fn approve(id: &str) -> Transition {
    Transition {
        request_id: id.into(),
        from: RequestState::Pending,
        to: RequestState::Approved,
        actor: "bob@contoso.com".into(),
        comment: Some("ok".into()),
        at_ms: 2_000,
        grant: Some(new_grant(10_000)),
        revoke_grant: false,
    }
}

#[test]
fn migrations_record_their_version_and_reopen_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.db");
    drop(SqliteStore::open(&path).unwrap());
    let store = SqliteStore::open(&path).unwrap();
    let conn = store.lock().unwrap();
    let versions: i64 = conn
        .query_row("SELECT COUNT(*) FROM schema_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        versions,
        migrations::LATEST,
        "each migration ran exactly once"
    );
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let sync: i64 = conn
        .query_row("PRAGMA synchronous", [], |r| r.get(0))
        .unwrap();
    assert_eq!(sync, 2, "synchronous=FULL");
}

#[test]
fn a_newer_schema_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.db");
    {
        let store = SqliteStore::open(&path).unwrap();
        let conn = store.lock().unwrap();
        conn.execute("INSERT INTO schema_version VALUES (99)", [])
            .unwrap();
    }
    let err = SqliteStore::open(&path).err().unwrap().to_string();
    assert!(err.contains("newer than this build"), "{err}");
}

#[test]
fn policies_get_sequential_ids_and_removal_is_recorded() {
    let (_d, store) = open();
    let p = NewPolicy {
        scope: Scope::Task("New-JournalRule".into()),
        approval: ApprovalKind::Manual,
        approvers: "pam-approvers".into(),
        max_hours: 8,
    };
    let a = store
        .create_policy(p.clone(), "admin", 1, &quiet_policy)
        .unwrap();
    let b = store.create_policy(p, "admin", 2, &quiet_policy).unwrap();
    assert_eq!((a.id.as_str(), b.id.as_str()), ("P-1", "P-2"));
    assert_eq!(store.list_policies().unwrap(), vec![a.clone(), b.clone()]);
    assert_eq!(
        store
            .remove_policy("P-1", "admin", 3, &quiet_policy)
            .unwrap(),
        a
    );
    assert_eq!(store.list_policies().unwrap(), vec![b]);
    assert!(matches!(
        store.remove_policy("P-1", "admin", 4, &quiet_policy),
        Err(StoreError::NotFound(_))
    ));
    let actions: Vec<_> = store
        .history("P-1")
        .unwrap()
        .into_iter()
        .map(|h| h.action)
        .collect();
    assert_eq!(actions, ["created", "removed"]);
}

#[test]
fn approval_creates_the_grant_in_the_same_transaction() {
    let (_d, store) = open();
    let (r, g) = store
        .create_request(new_request(RequestState::Pending), None, &none, &quiet)
        .unwrap();
    assert_eq!(
        (r.id.as_str(), r.state, g),
        ("R-1", RequestState::Pending, None)
    );
    let (r, g) = store.transition(approve("R-1"), &none, &quiet).unwrap();
    let g = g.unwrap();
    assert_eq!(r.state, RequestState::Approved);
    assert_eq!(r.grant_id.as_deref(), Some(g.id.as_str()));
    assert_eq!(r.comments[0].text, "ok");
    assert_eq!(g.request_id, "R-1");
    assert_eq!(store.list_active_grants(9_999).unwrap(), vec![g.clone()]);
    assert!(
        store.list_active_grants(10_000).unwrap().is_empty(),
        "expired at expires_at"
    );
    let h = store.history("R-1").unwrap();
    assert_eq!(h[1].from_state.as_deref(), Some("pending"));
    assert_eq!(h[1].to_state.as_deref(), Some("approved"));
    assert_eq!(store.history(&g.id).unwrap()[0].action, "granted");
}

#[test]
fn a_transition_from_the_wrong_state_changes_nothing() {
    let (_d, store) = open();
    store
        .create_request(new_request(RequestState::Pending), None, &none, &quiet)
        .unwrap();
    store.transition(approve("R-1"), &none, &quiet).unwrap();
    let err = store.transition(approve("R-1"), &none, &quiet).unwrap_err();
    assert!(matches!(
        err,
        StoreError::WrongState {
            actual: RequestState::Approved,
            ..
        }
    ));
    assert_eq!(
        store.list_active_grants(0).unwrap().len(),
        1,
        "no second grant"
    );
    assert_eq!(store.history("R-1").unwrap().len(), 2);
    assert!(matches!(
        store.transition(approve("R-9"), &none, &quiet),
        Err(StoreError::NotFound(_))
    ));
}

#[test]
fn revoke_ends_the_grant_at_once() {
    let (_d, store) = open();
    store
        .create_request(
            new_request(RequestState::Approved),
            Some(new_grant(99_000)),
            &none,
            &quiet,
        )
        .unwrap();
    let t = Transition {
        from: RequestState::Approved,
        to: RequestState::Revoked,
        grant: None,
        revoke_grant: true,
        comment: None,
        ..approve("R-1")
    };
    let (r, g) = store.transition(t, &none, &quiet).unwrap();
    assert_eq!(r.state, RequestState::Revoked);
    assert_eq!(g.unwrap().id, "G-1");
    assert!(store.list_active_grants(3_000).unwrap().is_empty());
}

#[test]
fn committed_grants_survive_dropping_the_store_without_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.db");
    let store = SqliteStore::open(&path).unwrap();
    store
        .create_request(new_request(RequestState::Pending), None, &none, &quiet)
        .unwrap();
    store.transition(approve("R-1"), &none, &quiet).unwrap();
    std::mem::forget(store); // no close, no checkpoint: like a crash right after the ack
    let reopened = SqliteStore::open(&path).unwrap();
    let grants = reopened.list_active_grants(5_000).unwrap();
    assert_eq!(grants.len(), 1);
    assert_eq!(grants[0].principal, "alice@contoso.com");
}

#[test]
fn outbox_delivers_retries_and_gives_up() {
    let (_d, store) = open();
    let m = |to: &str| OutboxMessage {
        channel: Channel::Email(to.into()),
        subject: "s".into(),
        body: "b".into(),
        created_at_ms: 100,
    };
    let two = move |_: &RequestRecord, _: Option<&GrantRecord>| vec![m("a@x"), m("b@x")];
    store
        .create_request(new_request(RequestState::Pending), None, &two, &quiet)
        .unwrap();
    assert!(
        store.due_outbox(99, 10).unwrap().is_empty(),
        "not due before creation"
    );
    let due = store.due_outbox(100, 10).unwrap();
    assert_eq!(due.len(), 2);
    store.outbox_delivered(due[0].id, 101).unwrap();
    store
        .outbox_failed(due[1].id, "connection refused", Some(500))
        .unwrap();
    assert!(store.due_outbox(499, 10).unwrap().is_empty());
    let retry = store.due_outbox(500, 10).unwrap();
    assert_eq!((retry.len(), retry[0].attempts), (1, 1));
    store
        .outbox_failed(retry[0].id, "still refused", None)
        .unwrap();
    assert!(
        store.due_outbox(i64::MAX, 10).unwrap().is_empty(),
        "dead items are not retried"
    );
}

#[test]
fn list_filters_by_state_newest_first() {
    let (_d, store) = open();
    for _ in 0..3 {
        store
            .create_request(new_request(RequestState::Pending), None, &none, &quiet)
            .unwrap();
    }
    store.transition(approve("R-2"), &none, &quiet).unwrap();
    let pending = store
        .list_requests(Some(RequestState::Pending), 10)
        .unwrap();
    let ids: Vec<_> = pending.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["R-3", "R-1"]);
    assert_eq!(
        store.list_requests(None, 2).unwrap().len(),
        2,
        "limit applies"
    );
}

#[test]
fn the_audit_callback_sees_the_new_ids_before_the_commit() {
    let (_d, store) = open();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = seen.clone();
    let audit = move |r: &RequestRecord, g: Option<&GrantRecord>| {
        sink.lock()
            .unwrap()
            .push((r.id.clone(), r.state, g.map(|g| g.id.clone())));
        Ok(())
    };
    let seen_policy = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = seen_policy.clone();
    let audit_policy = move |p: &PolicyRecord| {
        sink.lock().unwrap().push(p.id.clone());
        Ok(())
    };
    let p = NewPolicy {
        scope: Scope::Task("New-JournalRule".into()),
        approval: ApprovalKind::Manual,
        approvers: "pam-approvers".into(),
        max_hours: 8,
    };
    store.create_policy(p, "admin", 1, &audit_policy).unwrap();
    store
        .remove_policy("P-1", "admin", 2, &audit_policy)
        .unwrap();
    store
        .create_request(new_request(RequestState::Pending), None, &none, &audit)
        .unwrap();
    store.transition(approve("R-1"), &none, &audit).unwrap();
    assert_eq!(*seen_policy.lock().unwrap(), ["P-1", "P-1"]);
    assert_eq!(
        *seen.lock().unwrap(),
        [
            ("R-1".to_string(), RequestState::Pending, None),
            (
                "R-1".to_string(),
                RequestState::Approved,
                Some("G-1".to_string())
            ),
        ]
    );
}

#[test]
fn a_refused_audit_record_rolls_the_whole_change_back() {
    let (_d, store) = open();
    let refuse = |_: &RequestRecord, _: Option<&GrantRecord>| Err("disk full".to_string());
    let two = |_: &RequestRecord, _: Option<&GrantRecord>| {
        vec![OutboxMessage {
            channel: Channel::Webhook,
            subject: "s".into(),
            body: "b".into(),
            created_at_ms: 1,
        }]
    };
    let err = store
        .create_request(new_request(RequestState::Pending), None, &two, &refuse)
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::AuditRefused(m) if m == "disk full"),
        "{err}"
    );
    assert!(store.list_requests(None, 10).unwrap().is_empty());
    assert!(store.history("R-1").unwrap().is_empty());
    assert!(
        store.due_outbox(i64::MAX, 10).unwrap().is_empty(),
        "no notice queued"
    );

    store
        .create_request(new_request(RequestState::Pending), None, &none, &quiet)
        .unwrap();
    let err = store
        .transition(approve("R-1"), &none, &refuse)
        .unwrap_err();
    assert!(matches!(err, StoreError::AuditRefused(_)));
    let r = store.get_request("R-1").unwrap().unwrap();
    assert_eq!((r.state, r.grant_id), (RequestState::Pending, None));
    assert!(store.list_active_grants(3_000).unwrap().is_empty());

    let refuse_policy = |_: &PolicyRecord| Err("disk full".to_string());
    let p = NewPolicy {
        scope: Scope::Task("Set-Mailbox".into()),
        approval: ApprovalKind::Auto,
        approvers: "pam-approvers".into(),
        max_hours: 8,
    };
    assert!(store
        .create_policy(p.clone(), "admin", 1, &refuse_policy)
        .is_err());
    assert!(store.list_policies().unwrap().is_empty());
    let kept = store.create_policy(p, "admin", 1, &quiet_policy).unwrap();
    assert!(store
        .remove_policy(&kept.id, "admin", 2, &refuse_policy)
        .is_err());
    assert_eq!(store.list_policies().unwrap().len(), 1, "still there");
}

#[test]
fn a_grant_that_ran_out_is_recorded_once_and_a_revoked_one_never() {
    let (_d, store) = open();
    let approved = || new_request(RequestState::Approved);
    store
        .create_request(approved(), Some(new_grant(10_000)), &none, &quiet)
        .unwrap();
    store
        .create_request(approved(), Some(new_grant(20_000)), &none, &quiet)
        .unwrap();
    let revoke = Transition {
        request_id: "R-2".into(),
        from: RequestState::Approved,
        to: RequestState::Revoked,
        revoke_grant: true,
        ..approve("R-2")
    };
    store.transition(revoke, &none, &quiet).unwrap();
    let ids = |v: Vec<GrantRecord>| v.into_iter().map(|g| g.id).collect::<Vec<_>>();

    let refuse = |_: &GrantRecord| Err("disk full".to_string());
    assert!(matches!(
        store.record_grant_ends(10_000, 10, &refuse),
        Err(StoreError::AuditRefused(_))
    ));
    assert!(store
        .history("G-1")
        .unwrap()
        .iter()
        .all(|h| h.action != "expired"));

    let quiet_grant = |_: &GrantRecord| Ok(());
    assert!(ids(store.record_grant_ends(9_999, 10, &quiet_grant).unwrap()).is_empty());
    assert_eq!(
        ids(store.record_grant_ends(10_000, 10, &quiet_grant).unwrap()),
        ["G-1"]
    );
    assert!(
        ids(store.record_grant_ends(99_000, 10, &quiet_grant).unwrap()).is_empty(),
        "G-1 once only; G-2 was revoked"
    );
    let h = store.history("G-1").unwrap();
    assert_eq!(
        h.last().map(|h| (h.action.as_str(), h.actor.as_str())),
        Some(("expired", "system"))
    );
}
