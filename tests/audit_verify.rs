//! `verify_files` catches each kind of tampering on files written by the real writer, and
//! names the first bad line with the right words.

use runspace_gateway::audit::record::seal;
use runspace_gateway::audit::verify::{verify_files, Broken, Damage};
use runspace_gateway::audit::{
    rotated_path, AuditEvent, AuditLog, AuditRecord, Decision, EventKind,
};
use runspace_gateway::clock::FakeClock;
use runspace_gateway::config::{AuditConfig, FsyncPolicy};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn event(i: usize) -> AuditEvent {
    let mut ev =
        AuditEvent::new(EventKind::Decision).with_principal(&format!("user{i}@contoso.com"));
    ev.decision = Some(Decision::Deny);
    ev
}

/// A chain of `n` records written by the real writer; returns the file and its last hash.
async fn write_log(dir: &Path, name: &str, n: usize, rotate_bytes: u64) -> (PathBuf, String) {
    let cfg = AuditConfig {
        path: dir.join(name),
        fsync: FsyncPolicy::Never,
        rotate_bytes,
        ..AuditConfig::default()
    };
    let log = AuditLog::open(&cfg, Arc::new(FakeClock::new(1_767_225_600_000))).unwrap();
    for i in 1..=n {
        // Each log gets its own tenant, so two logs never share a chain.
        let mut ev = event(i);
        ev.tenant = Some(name.to_string());
        log.append(ev).await.unwrap();
    }
    (cfg.path, log.close().await.unwrap().hash)
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

fn write_lines(path: &Path, lines: &[String]) {
    let mut text = lines.join("\n");
    text.push('\n');
    std::fs::write(path, text).unwrap();
}

fn broken(path: &Path) -> Broken {
    verify_files(&[path.to_path_buf()]).unwrap_err()
}

fn assert_damage(b: &Broken, line: u64, damage: Damage, words: &str) {
    assert_eq!((b.line, b.damage), (line, damage), "{b}");
    assert!(b.to_string().contains(words), "{b}");
}

#[tokio::test]
async fn an_intact_file_verifies_with_its_count_and_last_hash() {
    let dir = tempfile::tempdir().unwrap();
    let (path, last) = write_log(dir.path(), "a.jsonl", 10, 1 << 20).await;
    let v = verify_files(&[path]).unwrap();
    assert_eq!((v.records, v.last_seq, v.last_hash), (10, 10, last));
}

#[tokio::test]
async fn an_edited_record_is_a_hash_mismatch_on_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = write_log(dir.path(), "a.jsonl", 10, 1 << 20).await;
    let mut ls = lines(&path);
    ls[4] = ls[4].replace("user5@", "mallory@");
    write_lines(&path, &ls);
    let b = broken(&path);
    assert_damage(
        &b,
        5,
        Damage::Edited,
        "line 5: edited record: seq 5: its contents do not match its hash",
    );
}

#[tokio::test]
async fn a_deleted_record_is_a_seq_gap() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = write_log(dir.path(), "a.jsonl", 10, 1 << 20).await;
    let mut ls = lines(&path);
    ls.remove(4);
    write_lines(&path, &ls);
    let b = broken(&path);
    assert_damage(
        &b,
        5,
        Damage::Deleted,
        "seq 6 where seq 5 was expected: 1 record(s)",
    );
}

#[tokio::test]
async fn a_deleted_first_record_is_caught_too() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = write_log(dir.path(), "a.jsonl", 3, 1 << 20).await;
    let mut ls = lines(&path);
    ls.remove(0);
    write_lines(&path, &ls);
    assert_damage(
        &broken(&path),
        1,
        Damage::Deleted,
        "seq 2 where seq 1 was expected",
    );
}

#[tokio::test]
async fn a_copied_record_inserted_later_is_an_insertion() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = write_log(dir.path(), "a.jsonl", 10, 1 << 20).await;
    let mut ls = lines(&path);
    let copy = ls[2].clone();
    ls.insert(5, copy);
    write_lines(&path, &ls);
    assert_damage(
        &broken(&path),
        6,
        Damage::Inserted,
        "seq 3 where seq 6 was expected",
    );
}

#[tokio::test]
async fn a_forged_record_with_a_valid_hash_is_an_insertion() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = write_log(dir.path(), "a.jsonl", 10, 1 << 20).await;
    let mut ls = lines(&path);
    let before: AuditRecord = serde_json::from_str(&ls[4]).unwrap();
    let forged = seal(&before.time, 6, &event(99), before.hash.as_deref().unwrap()).unwrap();
    ls.insert(
        5,
        String::from_utf8(forged.line)
            .unwrap()
            .trim_end()
            .to_string(),
    );
    write_lines(&path, &ls);
    // The forged line chains perfectly; the real seq 6 after it is what breaks.
    assert_damage(
        &broken(&path),
        7,
        Damage::Inserted,
        "seq 6 already appeared before this line",
    );
}

#[tokio::test]
async fn a_forged_unchained_record_followed_by_the_same_seq_is_an_insertion() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = write_log(dir.path(), "a.jsonl", 10, 1 << 20).await;
    let mut ls = lines(&path);
    let before: AuditRecord = serde_json::from_str(&ls[4]).unwrap();
    let forged = seal(&before.time, 6, &event(99), &"f".repeat(64)).unwrap();
    ls.insert(
        5,
        String::from_utf8(forged.line)
            .unwrap()
            .trim_end()
            .to_string(),
    );
    write_lines(&path, &ls);
    assert_damage(
        &broken(&path),
        6,
        Damage::Inserted,
        "line 7 carries seq 6 too",
    );
}

#[tokio::test]
async fn a_replaced_record_with_a_recomputed_hash_breaks_the_next_link() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = write_log(dir.path(), "a.jsonl", 10, 1 << 20).await;
    let mut ls = lines(&path);
    let original: AuditRecord = serde_json::from_str(&ls[4]).unwrap();
    let forged = seal(&original.time, 5, &event(99), &original.prev).unwrap();
    ls[4] = String::from_utf8(forged.line)
        .unwrap()
        .trim_end()
        .to_string();
    write_lines(&path, &ls);
    assert_damage(
        &broken(&path),
        6,
        Damage::Replaced,
        "its prev is not the hash of line 5",
    );
}

#[tokio::test]
async fn swapped_records_are_a_reordering() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = write_log(dir.path(), "a.jsonl", 10, 1 << 20).await;
    let mut ls = lines(&path);
    ls.swap(3, 4);
    write_lines(&path, &ls);
    assert_damage(
        &broken(&path),
        4,
        Damage::Reordered,
        "seq 5 where seq 4 was expected; seq 4 appears later, at line 5",
    );
}

#[tokio::test]
async fn a_cut_inside_the_last_record_is_a_truncated_tail() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = write_log(dir.path(), "a.jsonl", 10, 1 << 20).await;
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 20]).unwrap();
    assert_damage(
        &broken(&path),
        10,
        Damage::TruncatedTail,
        "line 10: truncated tail: the file ends inside this record",
    );
}

#[tokio::test]
async fn an_empty_line_is_an_insertion() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = write_log(dir.path(), "a.jsonl", 4, 1 << 20).await;
    let mut ls = lines(&path);
    ls.insert(2, String::new());
    write_lines(&path, &ls);
    assert_damage(&broken(&path), 3, Damage::Inserted, "empty line");
}

#[tokio::test]
async fn rotated_files_verify_in_order_and_a_spliced_one_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let (a, a_last) = write_log(dir.path(), "a.jsonl", 60, 4096).await;
    let (b, _) = write_log(dir.path(), "b.jsonl", 60, 4096).await;
    let a1 = rotated_path(&a, 1);
    assert!(
        a1.exists() && rotated_path(&a, 2).exists(),
        "the logs rotated"
    );
    let a_files: Vec<PathBuf> = (1..)
        .map(|n| rotated_path(&a, n))
        .take_while(|p| p.exists())
        .chain([a.clone()])
        .collect();
    let v = verify_files(&a_files).unwrap();
    assert_eq!((v.records, v.last_hash), (60, a_last));

    // Replace a.jsonl.2 by b.jsonl.2: the same name pattern and seqs, but another chain.
    let mut files = a_files.clone();
    files[1] = rotated_path(&b, 2);
    let err = verify_files(&files).unwrap_err();
    assert_eq!(
        (err.file.clone(), err.line, err.damage),
        (rotated_path(&b, 2), 1, Damage::SplicedRotation),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains(&format!("does not continue {}", a1.display())),
        "{err}"
    );
}

#[tokio::test]
async fn rotated_files_given_out_of_order_are_not_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let (a, _) = write_log(dir.path(), "a.jsonl", 60, 4096).await;
    let files = [rotated_path(&a, 2), rotated_path(&a, 1), a.clone()];
    let err = verify_files(&files).unwrap_err();
    assert_eq!((err.line, err.damage), (1, Damage::Deleted), "{err}");
    assert!(err.to_string().contains("oldest first"), "{err}");
}
