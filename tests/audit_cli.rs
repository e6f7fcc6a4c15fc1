//! `runspace-gateway audit verify|search` driven through the real binary.

use runspace_gateway::audit::{AuditEvent, AuditLog, Decision, EventKind};
use runspace_gateway::clock::FakeClock;
use runspace_gateway::config::{AuditConfig, FsyncPolicy};
use runspace_gateway::invocation::{Command, Invocation, Protocol};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;

const BIN: &str = env!("CARGO_BIN_EXE_runspace-gateway");

fn run(args: &[&str]) -> Output {
    std::process::Command::new(BIN).args(args).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn invocation(principal: &str, cmdlet: &str) -> Invocation {
    Invocation {
        principal: principal.into(),
        protocol: Protocol::Rest,
        tenant: None,
        shell_id: None,
        command_id: None,
        statements: vec![vec![Command {
            name: cmdlet.into(),
            module: None,
            params: vec![],
            positional: vec![],
            is_script: false,
            has_script_block: false,
        }]],
    }
}

/// Three decisions an hour apart, then a workflow event; returns the file and its last hash.
async fn sample_log(dir: &Path) -> (PathBuf, String) {
    let cfg = AuditConfig {
        path: dir.join("audit.jsonl"),
        fsync: FsyncPolicy::Batch,
        ..AuditConfig::default()
    };
    let clock = FakeClock::new(1_767_225_600_000); // 2026-01-01T00:00:00Z
    let log = AuditLog::open(&cfg, Arc::new(clock.clone())).unwrap();
    let calls = [
        ("alice@contoso.com", "Get-Mailbox", Decision::Allow),
        ("alice@contoso.com", "Set-Mailbox", Decision::Deny),
        ("bob@contoso.com", "Set-Mailbox", Decision::Allow),
    ];
    for (who, cmdlet, decision) in calls {
        let ev = AuditEvent::decision(&invocation(who, cmdlet), decision).with_reason("policy p1");
        log.append(ev).await.unwrap();
        clock.advance_ms(3_600_000);
    }
    let mut approved =
        AuditEvent::new(EventKind::RequestApproved).with_principal("alice@contoso.com");
    approved.approver = Some("carol@contoso.com".into());
    log.append(approved).await.unwrap();
    (cfg.path, log.close().await.unwrap().hash)
}

#[tokio::test]
async fn verify_prints_the_count_and_last_hash_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let (path, last) = sample_log(dir.path()).await;
    let out = run(&["audit", "verify", path.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(stdout(&out), format!("ok: 4 records, last hash {last}\n"));
}

#[tokio::test]
async fn verify_names_the_file_and_first_bad_line_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = sample_log(dir.path()).await;
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replacen("\"deny\"", "\"allow\"", 1)).unwrap();
    let out = run(&["audit", "verify", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("{}: line 2: edited record", path.display())),
        "{err}"
    );
}

#[tokio::test]
async fn search_filters_by_principal_cmdlet_decision_and_time() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = sample_log(dir.path()).await;
    let p = path.to_str().unwrap();
    let seqs = |args: &[&str]| -> Vec<u64> {
        let mut all = vec!["audit", "search", "--json"];
        all.extend_from_slice(args);
        all.push(p);
        let out = run(&all);
        assert!(out.status.success(), "{out:?}");
        stdout(&out)
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["seq"]
                    .as_u64()
                    .unwrap()
            })
            .collect()
    };
    assert_eq!(seqs(&["--principal", "ALICE@contoso.com"]), vec![1, 2, 4]);
    assert_eq!(seqs(&["--cmdlet", "set-mailbox"]), vec![2, 3]);
    assert_eq!(seqs(&["--decision", "allow"]), vec![1, 3]);
    assert_eq!(
        seqs(&[
            "--since",
            "2026-01-01T01:00:00Z",
            "--until",
            "2026-01-01T03:00:00Z"
        ]),
        vec![2, 3]
    );
    assert_eq!(
        seqs(&[
            "--principal",
            "alice@contoso.com",
            "--cmdlet",
            "Set-Mailbox",
            "--decision",
            "deny"
        ]),
        vec![2]
    );
}

#[tokio::test]
async fn search_json_lines_are_the_stored_records_and_the_table_is_readable() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = sample_log(dir.path()).await;
    let p = path.to_str().unwrap();
    let stored = std::fs::read_to_string(&path).unwrap();
    let json = run(&["audit", "search", "--json", p]);
    assert_eq!(
        stdout(&json),
        stored,
        "--json prints the records byte for byte"
    );

    let table = stdout(&run(&["audit", "search", "--decision", "deny", p]));
    let rows: Vec<&str> = table.lines().collect();
    assert_eq!(rows.len(), 2, "{table}");
    assert!(rows[0].starts_with("TIME"), "{table}");
    for field in [
        "2026-01-01T01:00:00.000Z",
        "decision",
        "alice@contoso.com",
        "deny",
        "Set-Mailbox",
        "policy p1",
    ] {
        assert!(rows[1].contains(field), "{field}: {table}");
    }
}

#[test]
fn search_rejects_a_bad_time_or_decision_naming_the_flag() {
    let out = run(&["audit", "search", "--since", "yesterday", "x.jsonl"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--since"),
        "{out:?}"
    );
    let out = run(&["audit", "search", "--decision", "maybe", "x.jsonl"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("shadow-deny"),
        "{out:?}"
    );
}
