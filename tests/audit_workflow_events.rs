//! Issue 7: every workflow event type is produced by a real flow and checked field by field.
//!
//! The gateway is wired as `serve` wires it (`gateway::serve::build` opens the real audit log
//! and the SQLite store file; `workflow::runtime::start` builds the workflow on them), with a
//! `FakeClock` so each record's `time` is known. A policy is created, requests are filed,
//! approved, denied, revoked, auto-approved and left to expire (the clock moves past the
//! pending expiry and the timer's entry points, `expire_due` and `record_grant_expiries`, run),
//! and the policy is removed.
//! The audit file is then read back: each record must carry exactly the fields its step
//! implies, with the ids the store gave, and `audit verify` must find the chain intact.

use runspace_gateway::audit::verify::{verify_files, Damage};
use runspace_gateway::clock::{rfc3339, Clock, FakeClock, Millis};
use runspace_gateway::config::{ApprovalKind, Config};
use runspace_gateway::gateway::serve::{build, Built};
use runspace_gateway::workflow::runtime::{start, ControlPlane};
use runspace_gateway::workflow::{PolicyInput, RequestInput, Workflow, SYSTEM_ACTOR};
use serde_json::{json, Map, Value};
use std::path::Path;
use std::sync::Arc;

const ALICE: &str = "alice@contoso.com";
const BOB: &str = "bob@contoso.com";
const CAROL: &str = "carol@contoso.com";
const START_MS: Millis = 1_700_000_000_000;
const MINUTE: i64 = 60_000;

fn config(dir: &Path) -> Config {
    let p = |name: &str| toml::Value::String(dir.join(name).display().to_string()).to_string();
    let text = format!(
        "[listen]\naddr = \"127.0.0.1:0\"\ncert = {cert}\nkey = {key}\n\n\
         [upstream]\nurl = \"http://127.0.0.1:9\"\n\n\
         [pam]\nenabled = true\n\n\
         [groups]\npam-approvers = [\"{BOB}\"]\n\n\
         [[policy]]\ntask = \"New-JournalRule\"\napproval = \"manual\"\napprovers = \"pam-approvers\"\n\n\
         [[policy]]\ntask = \"Set-Mailbox\"\napproval = \"auto\"\napprovers = \"pam-approvers\"\n\n\
         [store]\npath = {db}\n\n\
         [audit]\npath = {audit}\n",
        cert = p("server.pem"),
        key = p("server.key"),
        db = p("gateway.db"),
        audit = p("audit.jsonl"),
    );
    Config::parse(&text, &dir.join("gateway.toml")).unwrap()
}

fn request(task: &str, reason: &str, hours: i64) -> RequestInput {
    RequestInput {
        task: Some(task.into()),
        reason: Some(reason.into()),
        hours: Some(hours),
    }
}

/// The fields a workflow record must have besides `time`, `seq`, `prev` and `hash`.
fn fields(pairs: &[(&str, &str)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect()
}

/// Run every workflow step once; returns each expected record (without the chain fields)
/// with the clock reading at which it was written.
async fn run_the_workflow(wf: &Workflow, clock: &FakeClock) -> Vec<(Millis, Map<String, Value>)> {
    let mut expected = Vec::new();
    let mut step = |pairs: &[(&str, &str)]| {
        expected.push((clock.now_ms(), fields(pairs)));
    };

    let policy = PolicyInput {
        task: Some("Remove-Mailbox".into()),
        approval: Some(ApprovalKind::Manual),
        approvers: Some("pam-approvers".into()),
        max_hours: Some(4),
        ..Default::default()
    };
    let created = wf.create_policy(BOB, policy).await.unwrap();
    assert_eq!(created.id, "P-1");
    let scope = r#"{"approval":"manual","approvers":"pam-approvers","max_hours":4,"scope":{"task":"Remove-Mailbox"}}"#;
    step(&[
        ("event", "policy.created"),
        ("principal", BOB),
        ("policy_id", "P-1"),
        ("reason", scope),
    ]);

    clock.advance_ms(MINUTE);
    let r1 = wf
        .create_request(ALICE, request("Remove-Mailbox", "leaver cleanup", 2))
        .await
        .unwrap();
    assert_eq!(r1.request.id, "R-1");
    step(&[
        ("event", "request.created"),
        ("principal", ALICE),
        ("request_id", "R-1"),
        ("policy_id", "P-1"),
        ("reason", "task Remove-Mailbox; 2 h; leaver cleanup"),
    ]);

    clock.advance_ms(MINUTE);
    let approved = wf.approve(BOB, "R-1", Some("fine".into())).await.unwrap();
    assert_eq!(approved.grant.map(|g| g.id).as_deref(), Some("G-1"));
    step(&[
        ("event", "request.approved"),
        ("principal", BOB),
        ("request_id", "R-1"),
        ("policy_id", "P-1"),
        ("grant_id", "G-1"),
        ("approver", BOB),
        ("reason", "task Remove-Mailbox; 2 h; fine"),
    ]);

    clock.advance_ms(MINUTE);
    wf.revoke(ALICE, "R-1").await.unwrap();
    step(&[
        ("event", "request.revoked"),
        ("principal", ALICE),
        ("request_id", "R-1"),
        ("policy_id", "P-1"),
        ("grant_id", "G-1"),
        ("approver", ALICE),
        ("reason", "task Remove-Mailbox"),
    ]);

    clock.advance_ms(MINUTE);
    wf.create_request(ALICE, request("New-JournalRule", "legal hold", 1))
        .await
        .unwrap();
    step(&[
        ("event", "request.created"),
        ("principal", ALICE),
        ("request_id", "R-2"),
        ("policy_id", "C-1"),
        ("reason", "task New-JournalRule; 1 h; legal hold"),
    ]);

    clock.advance_ms(MINUTE);
    wf.deny(BOB, "R-2", Some("not today".into())).await.unwrap();
    step(&[
        ("event", "request.denied"),
        ("principal", BOB),
        ("request_id", "R-2"),
        ("policy_id", "C-1"),
        ("approver", BOB),
        ("reason", "task New-JournalRule; not today"),
    ]);

    clock.advance_ms(MINUTE);
    let pending = wf
        .create_request(CAROL, request("New-JournalRule", "audit mailbox", 1))
        .await
        .unwrap()
        .request;
    step(&[
        ("event", "request.created"),
        ("principal", CAROL),
        ("request_id", "R-3"),
        ("policy_id", "C-1"),
        ("reason", "task New-JournalRule; 1 h; audit mailbox"),
    ]);

    clock.advance_ms(MINUTE);
    let auto = wf
        .create_request(ALICE, request("Set-Mailbox", "quota", 3))
        .await
        .unwrap();
    assert_eq!(auto.grant.as_ref().map(|g| g.id.as_str()), Some("G-2"));
    step(&[
        ("event", "request.created"),
        ("principal", ALICE),
        ("request_id", "R-4"),
        ("policy_id", "C-2"),
        ("reason", "task Set-Mailbox; 3 h; quota"),
    ]);
    step(&[
        ("event", "request.approved"),
        ("principal", ALICE),
        ("request_id", "R-4"),
        ("policy_id", "C-2"),
        ("grant_id", "G-2"),
        ("approver", "auto"),
        ("reason", "task Set-Mailbox; 3 h"),
    ]);

    clock.set_ms(pending.pending_expires_at_ms);
    let expired = wf.expire_due().await.unwrap();
    assert_eq!(expired.len(), 1);
    let by = format!(
        "task New-JournalRule; no decision by {}",
        rfc3339(pending.pending_expires_at_ms)
    );
    step(&[
        ("event", "request.expired"),
        ("principal", SYSTEM_ACTOR),
        ("request_id", "R-3"),
        ("policy_id", "C-1"),
        ("reason", &by),
    ]);

    // R-4's 3-hour grant ran out long ago; R-1's was revoked, so only G-2 is recorded.
    let auto_grant = auto.grant.as_ref().unwrap();
    let ended = wf.record_grant_expiries().await.unwrap();
    assert_eq!(
        ended.iter().map(|g| g.id.as_str()).collect::<Vec<_>>(),
        ["G-2"]
    );
    let end = format!(
        "task Set-Mailbox; {ALICE}'s grant ended at {}",
        rfc3339(auto_grant.expires_at_ms)
    );
    step(&[
        ("event", "grant.expired"),
        ("principal", SYSTEM_ACTOR),
        ("request_id", "R-4"),
        ("policy_id", "C-2"),
        ("grant_id", "G-2"),
        ("approver", "auto"),
        ("reason", &end),
    ]);

    clock.advance_ms(MINUTE);
    wf.remove_policy(BOB, "P-1").await.unwrap();
    step(&[
        ("event", "policy.removed"),
        ("principal", BOB),
        ("policy_id", "P-1"),
    ]);
    expected
}

/// The control path as `serve` builds it, on files in `dir`.
struct Gateway {
    config: Config,
    clock: FakeClock,
    built: Built,
    plane: ControlPlane,
    _stop: tokio::sync::watch::Sender<bool>,
}

impl Gateway {
    async fn start(dir: &Path) -> Gateway {
        let config = config(dir);
        let clock = FakeClock::new(START_MS);
        let built = build(&config, Arc::new(clock.clone())).unwrap();
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        let plane = start(
            &config,
            Arc::new(clock.clone()),
            built.audit.clone(),
            built.state.clone(),
            |api| api,
            stop_rx,
        )
        .await
        .unwrap();
        Gateway {
            config,
            clock,
            built,
            plane,
            _stop: stop,
        }
    }
}

fn read_records(path: &Path) -> Vec<Map<String, Value>> {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.ends_with('\n'), "every record is a whole line");
    text.lines()
        .map(|l| match serde_json::from_str(l).unwrap() {
            Value::Object(m) => m,
            other => panic!("not a JSON object: {other}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_workflow_step_is_recorded_with_its_ids_and_the_chain_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let g = Gateway::start(dir.path()).await;
    let (config, clock, plane) = (&g.config, &g.clock, &g.plane);

    let expected = run_the_workflow(&plane.workflow, clock).await;
    assert!(
        plane.workflow.list_grants().await.unwrap().is_empty(),
        "G-1 was revoked and G-2 ran out"
    );

    let records = read_records(&config.audit.path);
    assert_eq!(records.len(), expected.len(), "one record per step");
    let mut prev = runspace_gateway::audit::GENESIS_PREV.to_string();
    for (i, (record, (at, want))) in records.iter().zip(&expected).enumerate() {
        let mut got = record.clone();
        assert_eq!(got.remove("time"), Some(json!(rfc3339(*at))), "record {i}");
        assert_eq!(got.remove("seq"), Some(json!(i + 1)), "record {i}");
        assert_eq!(got.remove("prev"), Some(json!(prev)), "record {i}: chained");
        let hash = got.remove("hash").unwrap();
        assert_eq!(hash.as_str().map(str::len), Some(64), "record {i}");
        prev = hash.as_str().unwrap().to_string();
        // Exactly these fields: no client, protocol, cmdlets or decision on a workflow step.
        assert_eq!(&got, want, "record {i}");
    }

    let verified = verify_files(&[&config.audit.path]).unwrap();
    assert_eq!(
        (verified.records, verified.last_seq, verified.last_hash),
        (expected.len() as u64, expected.len() as u64, prev)
    );
}

/// Also runs on a current-thread runtime: the store's blocking thread drives the audit write
/// without the runtime's own thread.
#[tokio::test]
async fn an_edited_workflow_record_breaks_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    let g = Gateway::start(dir.path()).await;
    let (config, clock, plane) = (&g.config, &g.clock, &g.plane);
    run_the_workflow(&plane.workflow, clock).await;
    let text = std::fs::read_to_string(&config.audit.path).unwrap();
    let forged = text.replacen(
        &format!("\"approver\":\"{BOB}\""),
        "\"approver\":\"mallory@contoso.com\"",
        1,
    );
    assert_ne!(forged, text);
    std::fs::write(&config.audit.path, forged).unwrap();
    let broken = verify_files(&[&config.audit.path]).unwrap_err();
    assert_eq!(
        (broken.line, broken.damage),
        (3, Damage::Edited),
        "{broken}"
    );
}

/// Invariant 3 with the real log: when the audit write fails, the approval does not happen,
/// and the chain stays intact for the records that were written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_whose_record_cannot_be_written_does_not_happen() {
    let dir = tempfile::tempdir().unwrap();
    let g = Gateway::start(dir.path()).await;
    let wf = &g.plane.workflow;
    wf.create_request(ALICE, request("New-JournalRule", "legal hold", 1))
        .await
        .unwrap();
    g.built.audit.fail_point().arm();
    let e = wf.approve(BOB, "R-1", None).await.unwrap_err();
    assert_eq!(e.code, "audit_unavailable", "{e}");
    let r = wf.get_request("R-1").await.unwrap();
    assert_eq!((r.state.as_str(), r.grant_id), ("pending", None));
    assert_eq!(g.built.state.grants.len(), 0, "no grant in force");
    assert!(wf.list_grants().await.unwrap().is_empty(), "none stored");

    let d = wf.approve(BOB, "R-1", None).await.unwrap();
    assert_eq!(d.grant.map(|g| g.id).as_deref(), Some("G-1"));
    let records = read_records(&g.config.audit.path);
    let events: Vec<_> = records.iter().map(|r| r["event"].clone()).collect();
    assert_eq!(
        events,
        [json!("request.created"), json!("request.approved")]
    );
    assert_eq!(records[1]["grant_id"], "G-1");
    assert_eq!(verify_files(&[&g.config.audit.path]).unwrap().records, 2);
}
