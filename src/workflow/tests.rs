use super::*;
use crate::clock::FakeClock;
use crate::config::ApprovalKind;
use crate::policy::record::Scope;
use crate::store::{Channel, RequestState, SqliteStore};

const HOUR: i64 = 3_600_000;
const ALICE: &str = "alice@contoso.com";
const BOB: &str = "bob@contoso.com";
const MALLORY: &str = "mallory@contoso.com";

struct Fixture {
    _dir: tempfile::TempDir,
    clock: FakeClock,
    audit: Arc<RecordingAudit>,
    live: Arc<RecordingLive>,
    store: Arc<SqliteStore>,
    wf: Workflow,
}

fn settings() -> WorkflowSettings {
    let policy = |id: &str, task: &str, approval| PolicyRecord {
        id: id.into(),
        scope: Scope::Task(task.into()),
        approval,
        approvers: "pam-approvers".into(),
        max_hours: 8,
    };
    WorkflowSettings {
        pending_expiry_hours: 24,
        default_hours: 4,
        require_reason: true,
        groups: BTreeMap::from([(
            "pam-approvers".to_string(),
            vec![BOB.to_string(), ALICE.to_string()],
        )]),
        roles: BTreeMap::new(),
        config_policies: vec![
            policy("C-1", "Exchange\\New-JournalRule", ApprovalKind::Manual),
            policy("C-2", "Set-Mailbox", ApprovalKind::Auto),
        ],
        emails: BTreeMap::from([
            (ALICE.to_string(), "alice@mail.test".to_string()),
            (BOB.to_string(), "bob@mail.test".to_string()),
        ]),
        smtp: true,
        webhook: false,
        policy_admins: None,
    }
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("g.db")).unwrap());
    let clock = FakeClock::new(1_700_000_000_000);
    let audit = Arc::new(RecordingAudit::default());
    let live = Arc::new(RecordingLive::default());
    let wf = Workflow::new(
        store.clone(),
        Arc::new(clock.clone()),
        audit.clone(),
        live.clone(),
        settings(),
    );
    Fixture {
        _dir: dir,
        clock,
        audit,
        live,
        store,
        wf,
    }
}

fn input(task: &str, reason: &str, hours: Option<i64>) -> RequestInput {
    RequestInput {
        task: Some(task.into()),
        reason: Some(reason.into()),
        hours,
    }
}

fn outbox_to(f: &Fixture, address: &str) -> Vec<crate::store::OutboxMessage> {
    let due = f.store.due_outbox(i64::MAX, 100).unwrap();
    let to = Channel::Email(address.into());
    due.into_iter()
        .map(|i| i.message)
        .filter(|m| m.channel == to)
        .collect()
}

#[tokio::test]
async fn an_auto_policy_grants_at_once() {
    let f = fixture();
    let d =
        f.wf.create_request(ALICE, input("Set-Mailbox", "fix quota", Some(2)))
            .await
            .unwrap();
    assert_eq!(d.request.state, RequestState::Approved);
    let g = d.grant.unwrap();
    assert_eq!(
        (g.approver.as_str(), g.expires_at_ms - g.starts_at_ms),
        ("auto", 2 * HOUR)
    );
    assert_eq!(f.live.grant_ids(), vec![g.id]);
    assert_eq!(
        f.audit.named(),
        ["request.create R-1", "request.approve R-1 G-1"],
        "the auto approval is recorded naming the request and its grant"
    );
    let events = f.audit.events.lock().unwrap().clone();
    assert_eq!(events[1].actor, ALICE);
    assert_eq!(events[1].detail["approver"], "auto");
    assert_eq!(events[0].detail["policy"], "C-2");
}

#[tokio::test]
async fn a_manual_request_mails_the_approvers_and_approval_grants() {
    let f = fixture();
    let d =
        f.wf.create_request(ALICE, input("New-JournalRule", "legal hold", None))
            .await
            .unwrap();
    assert_eq!(
        (d.request.state, d.request.hours),
        (RequestState::Pending, 4),
        "default hours"
    );
    assert!(f.live.grant_ids().is_empty());
    let mails = outbox_to(&f, "bob@mail.test");
    assert_eq!(mails.len(), 1, "bob is told");
    assert!(mails[0]
        .body
        .contains("runspace-gateway request approve R-1 --comment"));
    assert!(
        outbox_to(&f, "alice@mail.test").is_empty(),
        "the requester is not asked"
    );

    let d =
        f.wf.approve(BOB, "R-1", Some("ok for today".into()))
            .await
            .unwrap();
    assert_eq!(d.request.state, RequestState::Approved);
    let g = d.grant.unwrap();
    assert_eq!((g.principal.as_str(), g.approver.as_str()), (ALICE, BOB));
    assert_eq!(f.live.grant_ids(), vec![g.id]);
    let mails = outbox_to(&f, "alice@mail.test");
    assert!(
        mails[0].body.contains("approved by bob@contoso.com"),
        "{}",
        mails[0].body
    );
    assert!(mails[0].body.contains("ok for today"));
    assert_eq!(
        f.audit.named(),
        ["request.create R-1", "request.approve R-1 G-1"]
    );
}

#[tokio::test]
async fn self_approval_and_outsiders_are_refused_and_change_nothing() {
    let f = fixture();
    f.wf.create_request(ALICE, input("New-JournalRule", "x", None))
        .await
        .unwrap();
    let e = f.wf.approve(ALICE, "R-1", None).await.unwrap_err();
    assert_eq!((e.kind, e.code), (ErrorKind::Forbidden, "self_approval"));
    assert!(e.message.contains("Self-approval is not allowed"));
    let e = f.wf.approve(MALLORY, "R-1", None).await.unwrap_err();
    assert_eq!((e.kind, e.code), (ErrorKind::Forbidden, "not_an_approver"));
    let e = f.wf.deny(MALLORY, "R-1", None).await.unwrap_err();
    assert_eq!(e.code, "not_an_approver");
    let r = f.wf.get_request("R-1").await.unwrap();
    assert_eq!(r.state, RequestState::Pending);
    assert!(f.live.grant_ids().is_empty());
    assert_eq!(f.audit.actions(), ["request.create"]);
}

#[tokio::test]
async fn bad_requests_get_a_precise_error_and_store_nothing() {
    let f = fixture();
    let cases = [
        (input("Get-Mailbox", "x", None), "task", "unknown_task"),
        (input("New JournalRule", "x", None), "task", "invalid_task"),
        (
            input("New-JournalRule", "x", Some(-1)),
            "hours",
            "out_of_range",
        ),
        (
            input("New-JournalRule", "x", Some(0)),
            "hours",
            "out_of_range",
        ),
        (
            input("New-JournalRule", "x", Some(9)),
            "hours",
            "out_of_range",
        ),
        (
            input("New-JournalRule", "x", Some(i64::MAX)),
            "hours",
            "out_of_range",
        ),
        (
            input("New-JournalRule", "   ", None),
            "reason",
            "reason_required",
        ),
        (
            input("New-JournalRule", &"x".repeat(MAX_TEXT_CHARS + 1), None),
            "reason",
            "too_long",
        ),
    ];
    for (i, field, code) in cases {
        let e = f.wf.create_request(ALICE, i).await.unwrap_err();
        assert_eq!(
            (e.kind, e.field, e.code),
            (ErrorKind::BadInput, Some(field), code),
            "{e}"
        );
    }
    assert!(f.wf.list_requests(None).await.unwrap().is_empty());
    assert!(f.audit.actions().is_empty());
    let e = f.wf.approve(BOB, "R-x", None).await.unwrap_err();
    assert_eq!((e.field, e.code), (Some("id"), "malformed_id"));
    let e = f.wf.approve(BOB, "R-7", None).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
}

#[tokio::test]
async fn a_module_qualified_task_matches_the_policy_and_the_maximum_is_accepted() {
    let f = fixture();
    let d =
        f.wf.create_request(ALICE, input("exchange\\new-journalrule", "x", Some(8)))
            .await
            .unwrap();
    assert_eq!((d.request.policy_id.as_str(), d.request.hours), ("C-1", 8));
}

#[tokio::test]
async fn pending_requests_expire_on_time_and_cannot_be_approved_after() {
    let f = fixture();
    f.wf.create_request(ALICE, input("New-JournalRule", "x", None))
        .await
        .unwrap();
    f.clock.advance_ms(24 * HOUR - 1);
    assert!(f.wf.expire_due().await.unwrap().is_empty(), "not yet");
    f.clock.advance_ms(1);
    let expired = f.wf.expire_due().await.unwrap();
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0].state, RequestState::Expired);
    assert!(f.wf.expire_due().await.unwrap().is_empty(), "idempotent");
    let e = f.wf.approve(BOB, "R-1", None).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Conflict);
    let mails = outbox_to(&f, "alice@mail.test");
    assert!(mails[0].subject.contains("expired"), "{}", mails[0].subject);
    assert_eq!(
        f.audit.named(),
        ["request.create R-1", "request.expire R-1"],
        "expired once; the refused approval is not recorded"
    );
}

#[tokio::test]
async fn approving_a_request_past_its_expiry_expires_it_instead() {
    let f = fixture();
    f.wf.create_request(ALICE, input("New-JournalRule", "x", None))
        .await
        .unwrap();
    f.clock.advance_ms(25 * HOUR);
    let e = f.wf.approve(BOB, "R-1", None).await.unwrap_err();
    assert_eq!(e.code, "expired");
    assert_eq!(
        f.wf.get_request("R-1").await.unwrap().state,
        RequestState::Expired
    );
    assert!(f.live.grant_ids().is_empty());
}

#[tokio::test]
async fn grants_end_at_their_expiry() {
    let f = fixture();
    f.wf.create_request(ALICE, input("Set-Mailbox", "x", Some(3)))
        .await
        .unwrap();
    f.clock.advance_ms(3 * HOUR - 1);
    assert_eq!(f.wf.list_grants().await.unwrap().len(), 1);
    f.clock.advance_ms(1);
    assert!(f.wf.list_grants().await.unwrap().is_empty());
    let ended = f.wf.record_grant_expiries().await.unwrap();
    assert_eq!(
        ended.iter().map(|g| g.id.as_str()).collect::<Vec<_>>(),
        ["G-1"]
    );
    assert!(
        f.wf.record_grant_expiries().await.unwrap().is_empty(),
        "recorded once"
    );
    assert_eq!(
        f.audit.named(),
        [
            "request.create R-1",
            "request.approve R-1 G-1",
            "grant.expire R-1 G-1"
        ]
    );
    let events = f.audit.events.lock().unwrap().clone();
    assert_eq!(events[2].actor, SYSTEM_ACTOR);
    assert_eq!(events[2].detail["approver"], "auto");
}

#[tokio::test]
async fn a_revoked_grant_is_not_recorded_as_expired() {
    let f = fixture();
    f.wf.create_request(ALICE, input("Set-Mailbox", "x", Some(1)))
        .await
        .unwrap();
    f.wf.revoke(ALICE, "R-1").await.unwrap();
    f.clock.advance_ms(2 * HOUR);
    assert!(f.wf.record_grant_expiries().await.unwrap().is_empty());
}

#[tokio::test]
async fn revoke_leaves_the_live_state_before_it_answers() {
    let f = fixture();
    f.wf.create_request(ALICE, input("New-JournalRule", "x", None))
        .await
        .unwrap();
    f.wf.approve(BOB, "R-1", None).await.unwrap();
    let e = f.wf.revoke(MALLORY, "R-1").await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Forbidden);
    let d = f.wf.revoke(BOB, "R-1").await.unwrap();
    assert_eq!(d.request.state, RequestState::Revoked);
    assert!(f.live.grant_ids().is_empty());
    assert!(f.wf.list_grants().await.unwrap().is_empty());
    let e = f.wf.revoke(BOB, "R-1").await.unwrap_err();
    assert_eq!(e.code, "wrong_state");
    assert_eq!(
        f.audit.named(),
        [
            "request.create R-1",
            "request.approve R-1 G-1",
            "request.revoke R-1 G-1"
        ],
        "the revocation names the grant it ended"
    );
}

#[tokio::test]
async fn deny_ends_the_request_and_tells_the_requester() {
    let f = fixture();
    f.wf.create_request(ALICE, input("New-JournalRule", "x", None))
        .await
        .unwrap();
    let d =
        f.wf.deny(BOB, "R-1", Some("not today".into()))
            .await
            .unwrap();
    assert_eq!((d.request.state, d.grant), (RequestState::Denied, None));
    let mails = outbox_to(&f, "alice@mail.test");
    assert!(
        mails[0].body.contains("denied by bob@contoso.com") && mails[0].body.contains("not today")
    );
    assert_eq!(
        f.wf.approve(BOB, "R-1", None).await.unwrap_err().code,
        "wrong_state"
    );
    assert_eq!(f.audit.named(), ["request.create R-1", "request.deny R-1"]);
}

#[tokio::test]
async fn a_second_pending_request_for_the_same_task_is_refused() {
    let f = fixture();
    f.wf.create_request(ALICE, input("New-JournalRule", "x", None))
        .await
        .unwrap();
    let e =
        f.wf.create_request(ALICE, input("Exchange\\New-JournalRule", "y", None))
            .await
            .unwrap_err();
    assert_eq!((e.kind, e.code), (ErrorKind::Conflict, "duplicate_request"));
}

#[tokio::test]
async fn when_the_audit_log_fails_nothing_happens() {
    let f = fixture();
    *f.audit.fail_with.lock().unwrap() = Some("disk full".into());
    let e =
        f.wf.create_request(ALICE, input("Set-Mailbox", "x", None))
            .await
            .unwrap_err();
    assert_eq!(
        (e.kind, e.code),
        (ErrorKind::Unavailable, "audit_unavailable")
    );
    assert!(f.wf.list_requests(None).await.unwrap().is_empty());
    assert!(f.live.grant_ids().is_empty());
    assert!(
        f.store.due_outbox(i64::MAX, 10).unwrap().is_empty(),
        "nobody told"
    );
    let p = PolicyInput {
        task: Some("Remove-Mailbox".into()),
        approval: Some(ApprovalKind::Manual),
        approvers: Some("pam-approvers".into()),
        ..Default::default()
    };
    let e = f.wf.create_policy(BOB, p).await.unwrap_err();
    assert_eq!(e.code, "audit_unavailable");
    assert_eq!(f.wf.list_policies().await.unwrap().len(), 2, "not stored");
    assert_eq!(f.live.policies.lock().unwrap().len(), 0, "not in force");
}

#[tokio::test]
async fn an_approval_the_audit_log_refuses_leaves_the_request_pending() {
    let f = fixture();
    f.wf.create_request(ALICE, input("New-JournalRule", "x", None))
        .await
        .unwrap();
    *f.audit.fail_with.lock().unwrap() = Some("disk full".into());
    let e = f.wf.approve(BOB, "R-1", None).await.unwrap_err();
    assert_eq!(
        (e.kind, e.code),
        (ErrorKind::Unavailable, "audit_unavailable")
    );
    assert!(e.message.contains("disk full"), "{e}");
    let r = f.wf.get_request("R-1").await.unwrap();
    assert_eq!((r.state, r.grant_id), (RequestState::Pending, None));
    assert!(f.live.grant_ids().is_empty());
    assert!(f.wf.list_grants().await.unwrap().is_empty());
}

#[tokio::test]
async fn the_live_state_is_rebuilt_from_the_store() {
    let f = fixture();
    f.wf.create_request(ALICE, input("Set-Mailbox", "x", None))
        .await
        .unwrap();
    let fresh = Arc::new(RecordingLive::default());
    let wf = Workflow::new(
        f.store.clone(),
        Arc::new(f.clock.clone()),
        f.audit.clone(),
        fresh.clone(),
        settings(),
    );
    assert_eq!(wf.restore_live_state().await.unwrap(), 1);
    assert_eq!(fresh.grant_ids(), ["G-1"]);
    assert_eq!(fresh.policies.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn policies_are_created_validated_and_config_ones_are_read_only() {
    let f = fixture();
    let p = PolicyInput {
        task: Some("Remove-Mailbox".into()),
        approval: Some(ApprovalKind::Manual),
        approvers: Some("pam-approvers".into()),
        ..Default::default()
    };
    let created = f.wf.create_policy(BOB, p.clone()).await.unwrap();
    assert_eq!((created.id.as_str(), created.max_hours), ("P-1", 8));
    assert_eq!(
        f.audit.named(),
        ["policy.create P-1"],
        "the record names the new id"
    );
    assert_eq!(f.live.policies.lock().unwrap().len(), 3);
    let bad = PolicyInput {
        approvers: Some("nobody".into()),
        ..p.clone()
    };
    assert_eq!(
        f.wf.create_policy(BOB, bad).await.unwrap_err().field,
        Some("approvers")
    );
    let bad = PolicyInput {
        max_hours: Some(0),
        ..p.clone()
    };
    assert_eq!(
        f.wf.create_policy(BOB, bad).await.unwrap_err().field,
        Some("max_hours")
    );
    let bad = PolicyInput {
        role: Some("x".into()),
        ..p
    };
    assert_eq!(
        f.wf.create_policy(BOB, bad).await.unwrap_err().code,
        "scope_required"
    );
    assert_eq!(
        f.wf.remove_policy(BOB, "C-1").await.unwrap_err().code,
        "read_only"
    );
    assert_eq!(
        f.wf.remove_policy(BOB, "P-x").await.unwrap_err().field,
        Some("id")
    );
    f.wf.remove_policy(BOB, "P-1").await.unwrap();
    assert_eq!(
        f.wf.remove_policy(BOB, "P-1").await.unwrap_err().kind,
        ErrorKind::NotFound
    );
    assert_eq!(
        f.audit.named(),
        ["policy.create P-1", "policy.remove P-1"],
        "a removal of a missing policy is not recorded"
    );
    assert_eq!(f.wf.list_policies().await.unwrap().len(), 2);
}

#[tokio::test]
async fn pattern_policies_cover_requests_and_bad_patterns_are_refused() {
    let f = fixture();
    let p = PolicyInput {
        task: Some("Remove-Journal*".into()),
        approval: Some(ApprovalKind::Manual),
        approvers: Some("pam-approvers".into()),
        ..Default::default()
    };
    f.wf.create_policy(BOB, p.clone()).await.unwrap();
    let d =
        f.wf.create_request(ALICE, input("Remove-JournalRule", "x", None))
            .await
            .unwrap();
    assert_eq!(d.request.policy_id, "P-1");
    let bad = PolicyInput {
        task: Some("Set-[ab]*".into()),
        ..p
    };
    let e = f.wf.create_policy(BOB, bad).await.unwrap_err();
    assert_eq!((e.field, e.code), (Some("task"), "invalid_pattern"), "{e}");
    assert_eq!(
        f.wf.list_policies().await.unwrap().len(),
        3,
        "nothing stored"
    );
}

#[tokio::test]
async fn an_approval_whose_commit_fails_is_taken_back_in_the_audit_log() {
    let f = fixture();
    let d =
        f.wf.create_request(ALICE, input("New-JournalRule", "legal hold", Some(2)))
            .await
            .unwrap();
    f.store.fail_next_commit();
    let err =
        f.wf.approve(BOB, &d.request.id, Some("ok".into()))
            .await
            .unwrap_err();
    assert!(err.message.contains("injected commit failure"), "{err:?}");
    assert_eq!(
        f.audit.named(),
        [
            "request.create R-1",
            "request.approve R-1 G-1",
            "step.rollback R-1 G-1"
        ]
    );
    let events = f.audit.events.lock().unwrap().clone();
    assert_eq!(events[2].actor, BOB);
    assert_eq!(events[2].detail["policy"], "C-1");
    let reason = events[2].detail["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("request.approve was not committed (")
            && reason.contains("injected commit failure")
            && reason.ends_with("the ids it named may be given out again"),
        "{reason}"
    );
    // Nothing happened: the request is still pending, no grant went live, and the next
    // approval hands out the same grant id the rolled-back record named.
    let r = f.wf.get_request(&d.request.id).await.unwrap();
    assert_eq!(r.state, RequestState::Pending);
    assert!(f.live.grant_ids().is_empty());
    let ok = f.wf.approve(BOB, &d.request.id, None).await.unwrap();
    assert_eq!(ok.grant.unwrap().id, "G-1");
}

#[tokio::test]
async fn an_auto_request_whose_commit_fails_takes_back_both_its_records() {
    let f = fixture();
    f.store.fail_next_commit();
    f.wf.create_request(ALICE, input("Set-Mailbox", "fix quota", Some(2)))
        .await
        .unwrap_err();
    assert_eq!(
        f.audit.named(),
        [
            "request.create R-1",
            "request.approve R-1 G-1",
            "step.rollback R-1",
            "step.rollback R-1 G-1"
        ]
    );
    assert!(f.live.grant_ids().is_empty());
}

#[tokio::test]
async fn a_step_whose_second_record_is_refused_takes_back_the_first() {
    let f = fixture();
    // An auto request writes request.create, then request.approve; the second is refused, so
    // the transaction rolls back and only the first needs taking back.
    *f.audit.fail_record_number.lock().unwrap() = Some(1);
    let err =
        f.wf.create_request(ALICE, input("Set-Mailbox", "fix quota", Some(2)))
            .await
            .unwrap_err();
    assert!(err.message.contains("record 1 refused"), "{err:?}");
    assert_eq!(f.audit.named(), ["request.create R-1", "step.rollback R-1"]);
    assert!(f.live.grant_ids().is_empty());
    assert!(
        f.wf.get_request("R-1").await.is_err(),
        "R-1 was never committed"
    );
}
