//! The audit writer against real files: group commit, fsync policies, rotation, resume,
//! redaction, and real write failures.

use runspace_gateway::audit::verify::verify_files;
use runspace_gateway::audit::{
    rotated_path, AuditError, AuditEvent, AuditLog, AuditRecord, Decision, EventKind, GENESIS_PREV,
};
use runspace_gateway::clock::{FakeClock, SharedClock};
use runspace_gateway::config::{AuditConfig, FsyncPolicy};
use runspace_gateway::invocation::{Command, Invocation, Param, Protocol, REDACTED};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;

fn config(dir: &Path, fsync: FsyncPolicy) -> AuditConfig {
    AuditConfig {
        path: dir.join("audit.jsonl"),
        fsync,
        ..AuditConfig::default()
    }
}

fn clock() -> SharedClock {
    Arc::new(FakeClock::new(1_767_225_600_000)) // 2026-01-01T00:00:00Z
}

fn event(principal: &str) -> AuditEvent {
    let mut ev = AuditEvent::new(EventKind::Decision).with_principal(principal);
    ev.decision = Some(Decision::Allow);
    ev
}

fn records(path: &Path) -> Vec<AuditRecord> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

async fn append_n(log: &AuditLog, n: usize) {
    for i in 0..n {
        log.append(event(&format!("user{i}@contoso.com")))
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_concurrent_appends_give_an_intact_chain() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), FsyncPolicy::Batch);
    let log = Arc::new(AuditLog::open(&cfg, clock()).unwrap());
    let tasks: Vec<_> = (0..10_000)
        .map(|i| {
            let log = log.clone();
            tokio::spawn(async move { log.append(event(&format!("u{i}"))).await })
        })
        .collect();
    let mut seqs = Vec::new();
    for t in tasks {
        seqs.push(t.await.unwrap().unwrap().seq);
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=10_000).collect::<Vec<u64>>());
    let writes = log.stats().writes.load(Ordering::Relaxed);
    assert!(writes < 10_000, "group commit wrote {writes} times");

    let file_seqs: Vec<u64> = records(&cfg.path).iter().map(|r| r.seq).collect();
    assert_eq!(file_seqs, (1..=10_000).collect::<Vec<u64>>());
    let v = verify_files(&[&cfg.path]).unwrap();
    assert_eq!(v.records, 10_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fsync_always_flushes_each_group_commit_before_answering() {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(AuditLog::open(&config(dir.path(), FsyncPolicy::Always), clock()).unwrap());
    append_n(&log, 5).await; // one at a time: five commits, five flushes
    assert_eq!(log.stats().fsyncs.load(Ordering::Relaxed), 5);
    let tasks: Vec<_> = (0..500)
        .map(|i| {
            let log = log.clone();
            tokio::spawn(async move { log.append(event(&format!("u{i}"))).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let stats = log.stats();
    let (writes, fsyncs) = (
        stats.writes.load(Ordering::Relaxed),
        stats.fsyncs.load(Ordering::Relaxed),
    );
    assert_eq!(stats.records.load(Ordering::Relaxed), 505);
    assert!(writes < 505, "group commit wrote {writes} times");
    assert_eq!(
        fsyncs, writes,
        "always: every write is flushed before it is answered"
    );
}

#[tokio::test]
async fn fsync_never_never_flushes() {
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::open(&config(dir.path(), FsyncPolicy::Never), clock()).unwrap();
    append_n(&log, 20).await;
    assert_eq!(log.stats().records.load(Ordering::Relaxed), 20);
    assert_eq!(log.stats().fsyncs.load(Ordering::Relaxed), 0);
    log.close().await.unwrap();
}

#[tokio::test]
async fn fsync_batch_answers_once_written_and_flushes_later_off_the_data_path() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = AuditConfig {
        fsync_interval_ms: 10_000, // far longer than this test: no flush happens on its own
        ..config(dir.path(), FsyncPolicy::Batch)
    };
    let log = AuditLog::open(&cfg, clock()).unwrap();
    append_n(&log, 5).await;
    assert_eq!(
        records(&cfg.path).len(),
        5,
        "written before append returned"
    );
    assert_eq!(
        log.stats().fsyncs.load(Ordering::Relaxed),
        0,
        "no call waited for a flush"
    );
    let stats = log.stats_handle();
    log.close().await.unwrap();
    assert_eq!(
        stats.fsyncs.load(Ordering::Relaxed),
        1,
        "close flushes what is written"
    );
}

#[tokio::test]
async fn dropping_the_last_handle_without_close_still_flushes_what_was_written() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = AuditConfig {
        fsync_interval_ms: 10_000,
        ..config(dir.path(), FsyncPolicy::Batch)
    };
    let log = AuditLog::open(&cfg, clock()).unwrap();
    append_n(&log, 3).await;
    let stats = log.stats_handle();
    assert_eq!(stats.fsyncs.load(Ordering::Relaxed), 0);
    drop(log);
    assert_eq!(stats.fsyncs.load(Ordering::Relaxed), 1);
    assert_eq!(verify_files(&[&cfg.path]).unwrap().records, 3);
}

/// Waits (bounded) for the syncer thread, which runs on its own real-time interval.
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..10_000 {
        if done() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    panic!("{what} did not happen within 10 s");
}

#[tokio::test]
async fn fsync_batch_flushes_within_the_interval_without_a_close() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = AuditConfig {
        fsync_interval_ms: 1,
        ..config(dir.path(), FsyncPolicy::Batch)
    };
    let log = AuditLog::open(&cfg, clock()).unwrap();
    append_n(&log, 3).await;
    until("a flush by the syncer", || {
        log.stats().fsyncs.load(Ordering::Relaxed) >= 1
    })
    .await;
}

#[tokio::test]
async fn a_failed_background_flush_refuses_every_later_record() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = AuditConfig {
        fsync_interval_ms: 1,
        ..config(dir.path(), FsyncPolicy::Batch)
    };
    let log = AuditLog::open(&cfg, clock()).unwrap();
    log.fail_point().arm_fsync();
    log.append(event("before@contoso.com")).await.unwrap();
    let mut refused = None;
    for _ in 0..10_000 {
        match log.append(event("after@contoso.com")).await {
            Ok(_) => tokio::time::sleep(std::time::Duration::from_millis(1)).await,
            Err(e) => {
                refused = Some(e);
                break;
            }
        }
    }
    let err = refused.expect("a failed fsync must refuse later records");
    assert!(
        matches!(&err, AuditError::Poisoned { message, .. } if message.contains("fsync failed")),
        "{err}"
    );
    assert!(
        log.append(event("later@contoso.com")).await.is_err(),
        "stays refused"
    );
}

#[tokio::test]
async fn records_carry_time_seq_and_the_genesis_prev() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), FsyncPolicy::Batch);
    let log = AuditLog::open(&cfg, clock()).unwrap();
    let first = log.append(event("alice@contoso.com")).await.unwrap();
    let second = log
        .append(AuditEvent::new(EventKind::GatewayStop))
        .await
        .unwrap();
    let rs = records(&cfg.path);
    assert_eq!(rs[0].time, "2026-01-01T00:00:00.000Z");
    assert_eq!((rs[0].seq, rs[0].prev.as_str()), (1, GENESIS_PREV));
    assert_eq!(rs[0].hash.as_deref(), Some(first.hash.as_str()));
    assert_eq!((rs[1].seq, &rs[1].prev), (2, &first.hash));
    assert_eq!(second.seq, 2);
    let text = std::fs::read_to_string(&cfg.path).unwrap();
    let line2 = text.lines().nth(1).unwrap();
    assert!(line2.contains(r#""event":"gateway.stop""#), "{line2}");
    assert!(
        !line2.contains("principal"),
        "empty fields are omitted: {line2}"
    );
}

#[tokio::test]
async fn rotation_keeps_the_chain_across_files() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = AuditConfig {
        rotate_bytes: 4096,
        ..config(dir.path(), FsyncPolicy::Batch)
    };
    let log = AuditLog::open(&cfg, clock()).unwrap();
    append_n(&log, 200).await;
    let tip = log.close().await.unwrap();
    let mut files: Vec<PathBuf> = (1..)
        .map(|n| rotated_path(&cfg.path, n))
        .take_while(|p| p.exists())
        .collect();
    assert!(
        files.len() >= 3,
        "expected several rotations, got {}",
        files.len()
    );
    for f in &files {
        assert!(
            std::fs::metadata(f).unwrap().len() <= 4096,
            "{}",
            f.display()
        );
    }
    files.push(cfg.path.clone());
    for pair in files.windows(2) {
        let last = records(&pair[0]).pop().unwrap();
        let first = records(&pair[1]).remove(0);
        assert_eq!(first.prev, last.hash.unwrap());
        assert_eq!(first.seq, last.seq + 1);
    }
    let v = verify_files(&files).unwrap();
    assert_eq!((v.records, v.last_hash), (200, tip.hash));
}

#[tokio::test]
async fn reopening_resumes_seq_and_hash() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), FsyncPolicy::Batch);
    let log = AuditLog::open(&cfg, clock()).unwrap();
    append_n(&log, 3).await;
    let tip = log.close().await.unwrap();
    let log = AuditLog::open(&cfg, clock()).unwrap();
    let next = log.append(event("bob@contoso.com")).await.unwrap();
    assert_eq!(next.seq, 4);
    assert_eq!(records(&cfg.path)[3].prev, tip.hash);
    log.close().await.unwrap();
    assert_eq!(verify_files(&[&cfg.path]).unwrap().records, 4);
}

#[tokio::test]
async fn reopening_after_a_rotation_with_no_new_record_resumes_from_the_rotated_file() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), FsyncPolicy::Batch);
    let log = AuditLog::open(&cfg, clock()).unwrap();
    append_n(&log, 2).await;
    log.close().await.unwrap();
    // What a crash right after the rename leaves behind.
    std::fs::rename(&cfg.path, rotated_path(&cfg.path, 1)).unwrap();
    let log = AuditLog::open(&cfg, clock()).unwrap();
    assert_eq!(log.append(event("x")).await.unwrap().seq, 3);
    log.close().await.unwrap();
    let files = [rotated_path(&cfg.path, 1), cfg.path.clone()];
    assert_eq!(verify_files(&files).unwrap().records, 3);
}

#[tokio::test]
async fn a_torn_last_line_refuses_to_open_naming_the_file_line_and_the_cut() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), FsyncPolicy::Batch);
    let log = AuditLog::open(&cfg, clock()).unwrap();
    append_n(&log, 2).await;
    log.close().await.unwrap();
    let good_len = std::fs::metadata(&cfg.path).unwrap().len();
    let mut text = std::fs::read(&cfg.path).unwrap();
    text.extend_from_slice(br#"{"time":"2026-01-01T00:00:00.000Z","seq":3,"ev"#);
    std::fs::write(&cfg.path, &text).unwrap();
    let err = AuditLog::open(&cfg, clock()).err().unwrap();
    assert_eq!(
        err,
        AuditError::TornTail {
            path: cfg.path.clone(),
            line: 3,
            keep_bytes: good_len
        }
    );
    assert!(
        err.to_string().contains(&format!("truncate -s {good_len}")),
        "{err}"
    );
}

#[tokio::test]
async fn an_edited_last_record_refuses_to_open() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), FsyncPolicy::Batch);
    let log = AuditLog::open(&cfg, clock()).unwrap();
    append_n(&log, 2).await;
    log.close().await.unwrap();
    let text = std::fs::read_to_string(&cfg.path).unwrap();
    std::fs::write(&cfg.path, text.replace("user1@", "mallory@")).unwrap();
    let err = AuditLog::open(&cfg, clock()).err().unwrap();
    assert!(
        matches!(&err, AuditError::BadRecord { line: 2, why, .. } if why.contains("edited")),
        "{err}"
    );
}

fn command(
    name: &str,
    params: Vec<(&str, serde_json::Value, bool)>,
    pos: Vec<serde_json::Value>,
) -> Command {
    Command {
        name: name.into(),
        module: None,
        params: params
            .into_iter()
            .map(|(n, value, bare)| Param {
                name: n.into(),
                value,
                bare,
            })
            .collect(),
        positional: pos,
        is_script: false,
        has_script_block: false,
    }
}

#[tokio::test]
async fn secure_strings_and_password_parameters_never_reach_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), FsyncPolicy::Batch);
    let log = AuditLog::open(&cfg, clock()).unwrap();
    let inv = Invocation {
        principal: "alice@contoso.com".into(),
        protocol: Protocol::Winrm,
        tenant: Some("contoso.onmicrosoft.com".into()),
        shell_id: Some("SHELL".into()),
        command_id: Some("CMD".into()),
        statements: vec![
            vec![command(
                "Set-Mailbox",
                vec![
                    ("Identity", json!("bob"), false),
                    ("Password", json!("hunter2"), false),
                    ("Value", json!({"SS": "c2VjcmV0LWJsb2I="}), false),
                    ("Other", json!("<SS>c2VjcmV0LWJsb2I=</SS>"), false),
                ],
                vec![],
            )],
            vec![command(
                "New-Thing",
                vec![("NewPassword", json!(true), true)],
                vec![json!("s3cret-pos")],
            )],
        ],
    };
    log.append(AuditEvent::decision(&inv, Decision::Allow))
        .await
        .unwrap();
    log.close().await.unwrap();
    let text = std::fs::read_to_string(&cfg.path).unwrap();
    for secret in ["hunter2", "c2VjcmV0LWJsb2I=", "s3cret-pos"] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    let r = records(&cfg.path).remove(0);
    let set = &r.event.cmdlets[0];
    assert_eq!(set.params.get("Identity"), Some(&json!("bob")));
    for p in ["Password", "Value", "Other"] {
        assert_eq!(set.params.get(p), Some(&json!(REDACTED)), "{p}");
    }
    let new = &r.event.cmdlets[1];
    assert_eq!(
        (new.statement, new.positional.clone()),
        (1, vec![json!(REDACTED)])
    );
    assert_eq!(r.event.shell_id.as_deref(), Some("SHELL"));
    assert_eq!(r.event.protocol, Some(Protocol::Winrm));
}

#[tokio::test]
async fn a_parameter_larger_than_a_record_is_kept_as_its_size_digest_and_head() {
    use runspace_gateway::audit::large::{MAX_AUDIT_STRING_BYTES, TRUNCATED_HEAD_BYTES};
    use sha2::{Digest, Sha256};
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), FsyncPolicy::Batch); // max_record_bytes 1 MiB
    let log = AuditLog::open(&cfg, clock()).unwrap();
    let file_data = "QUJD".repeat(512 * 1024); // 2 MiB, as a byte[] argument arrives
    let kept = "k".repeat(MAX_AUDIT_STRING_BYTES);
    let inv = Invocation {
        principal: "alice@contoso.com".into(),
        protocol: Protocol::Rest,
        tenant: None,
        shell_id: None,
        command_id: None,
        statements: vec![vec![command(
            "Import-TransportRuleCollection",
            vec![
                ("FileData", json!(file_data), false),
                ("Comment", json!(kept), false),
            ],
            vec![],
        )]],
    };
    log.append(AuditEvent::decision(&inv, Decision::Allow))
        .await
        .expect("a 2 MiB parameter no longer exceeds the 1 MiB record limit");
    log.close().await.unwrap();
    let r = records(&cfg.path).remove(0);
    let params = &r.event.cmdlets[0].params;
    let digest = hex::encode(Sha256::digest(file_data.as_bytes()));
    let head = &file_data[..TRUNCATED_HEAD_BYTES];
    assert_eq!(
        params.get("FileData"),
        Some(&json!(format!(
            "[truncated: 2097152 bytes, sha256 {digest}] {head}..."
        )))
    );
    assert_eq!(
        params.get("Comment"),
        Some(&json!(kept)),
        "at the limit: whole"
    );
    assert_eq!(
        verify_files(std::slice::from_ref(&cfg.path))
            .unwrap()
            .records,
        1
    );
}

#[tokio::test]
async fn an_injected_write_failure_fails_the_batch_and_the_chain_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), FsyncPolicy::Batch);
    let log = AuditLog::open(&cfg, clock()).unwrap();
    let before = log.append(event("a")).await.unwrap();
    let len_before = std::fs::metadata(&cfg.path).unwrap().len();
    log.fail_point().arm();
    let err = log.append(event("b")).await.unwrap_err();
    assert!(
        matches!(&err, AuditError::Write { message, .. } if message.contains("injected")),
        "{err}"
    );
    assert_eq!(
        std::fs::metadata(&cfg.path).unwrap().len(),
        len_before,
        "partial write cut back"
    );
    let after = log.append(event("c")).await.unwrap();
    assert_eq!(after.seq, before.seq + 1, "the failed record took no seq");
    log.close().await.unwrap();
    assert_eq!(verify_files(&[&cfg.path]).unwrap().records, 2);
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_full_disk_is_an_error_for_every_waiter() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), FsyncPolicy::Batch);
    std::os::unix::fs::symlink("/dev/full", &cfg.path).unwrap();
    let log = Arc::new(AuditLog::open(&cfg, clock()).unwrap());
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let log = log.clone();
            tokio::spawn(async move { log.append(event(&format!("u{i}"))).await })
        })
        .collect();
    for t in tasks {
        let err = t.await.unwrap().unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, AuditError::Write { .. }), "{text}");
        assert!(
            text.contains("audit.jsonl") && text.contains("fail closed"),
            "{text}"
        );
        assert!(
            text.contains("No space left on device"),
            "a real ENOSPC: {text}"
        );
    }
    assert_eq!(log.stats().records.load(Ordering::Relaxed), 0);
    assert_eq!(log.stats().failures.load(Ordering::Relaxed), 50);
}

#[tokio::test]
async fn a_record_over_max_record_bytes_is_refused_and_takes_no_seq() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = AuditConfig {
        max_record_bytes: 4096,
        ..config(dir.path(), FsyncPolicy::Batch)
    };
    let log = AuditLog::open(&cfg, clock()).unwrap();
    let big = event("a").with_reason("x".repeat(5000));
    let err = log.append(big).await.unwrap_err();
    assert!(
        matches!(err, AuditError::RecordTooLarge { limit: 4096, .. }),
        "{err}"
    );
    assert_eq!(log.append(event("b")).await.unwrap().seq, 1);
}
