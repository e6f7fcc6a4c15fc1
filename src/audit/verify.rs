//! `audit verify`: check the hash chain across files given oldest first.
//!
//! Each line must match its own hash (else it was edited), have `seq` one more than the line
//! before and `prev` equal to that line's hash (else records were deleted, inserted or
//! reordered), and end in a newline (else the tail was truncated). The first record of a later
//! file must continue the previous file (else a rotation file was spliced in). The first line
//! that breaks a rule is reported, with why; lines after it are only read to tell a deletion
//! from a reordering.

use super::lines::{LineInfo, Lines};
use super::record::{chain_hash, is_hash_hex, split_line, AuditRecord, GENESIS_PREV};
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

/// The chain is intact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub records: u64,
    pub last_seq: u64,
    pub last_hash: String,
}

/// What kind of damage the first bad line shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Damage {
    /// The line does not match its own hash, or is not a well-formed record.
    Edited,
    /// `seq` jumps forward and the missing records appear nowhere later in the file.
    Deleted,
    /// A line that does not belong: an empty line, a repeated or backward `seq`, or a record
    /// not chained to the one before while the next record continues the old numbering.
    Inserted,
    /// The record before this one was replaced by one with a recomputed hash.
    Replaced,
    /// `seq` jumps forward and the expected record appears later in the file.
    Reordered,
    /// The file ends inside a record.
    TruncatedTail,
    /// The first record of a file does not continue the previous file's last record.
    SplicedRotation,
    /// The file cannot be read.
    Unreadable,
}

impl Damage {
    pub fn as_str(self) -> &'static str {
        match self {
            Damage::Edited => "edited record",
            Damage::Deleted => "deleted record",
            Damage::Inserted => "inserted record",
            Damage::Replaced => "replaced record",
            Damage::Reordered => "reordered records",
            Damage::TruncatedTail => "truncated tail",
            Damage::SplicedRotation => "spliced rotation file",
            Damage::Unreadable => "unreadable file",
        }
    }
}

/// The first bad line: which file, which line (1-based, 0 for the file itself), what and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    pub file: PathBuf,
    pub line: u64,
    pub damage: Damage,
    pub why: String,
}

impl std::fmt::Display for Broken {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(
            f,
            "{}: line {}: {}: {}",
            self.file.display(),
            self.line,
            self.damage.as_str(),
            self.why
        )
    }
}

/// Where the chain stands after the last good record.
struct Expect {
    seq: u64,
    prev: String,
    records: u64,
    /// The previous file, when this is the first record of a later file.
    boundary: Option<PathBuf>,
}

/// Verify the chain across `files`, oldest first.
pub fn verify_files<P: AsRef<Path>>(files: &[P]) -> Result<Verified, Broken> {
    let mut expect = Expect {
        seq: 1,
        prev: GENESIS_PREV.to_string(),
        records: 0,
        boundary: None,
    };
    let mut previous: Option<&Path> = None;
    for file in files {
        expect.boundary = previous.map(Path::to_path_buf);
        verify_file(file.as_ref(), &mut expect)?;
        previous = Some(file.as_ref());
    }
    Ok(Verified {
        records: expect.records,
        last_seq: expect.seq - 1,
        last_hash: expect.prev,
    })
}

fn verify_file(path: &Path, expect: &mut Expect) -> Result<(), Broken> {
    let broken = |line: u64, damage: Damage, why: String| Broken {
        file: path.to_path_buf(),
        line,
        damage,
        why,
    };
    let file = File::open(path).map_err(|e| broken(0, Damage::Unreadable, e.to_string()))?;
    let mut lines = Lines::new(BufReader::new(file));
    loop {
        let info = match lines.next_line() {
            Ok(Some(info)) => info,
            Ok(None) => return Ok(()),
            Err(e) => return Err(broken(0, Damage::Unreadable, e.to_string())),
        };
        let record = read_record(&info, lines.bytes())
            .map_err(|(damage, why)| broken(info.number, damage, why))?;
        if let Err((damage, why)) = check_link(&record, &info, expect, &mut lines) {
            return Err(broken(info.number, damage, why));
        }
        expect.seq = record.seq.saturating_add(1);
        expect.prev = record.hash.unwrap_or_default();
        expect.records += 1;
        expect.boundary = None;
    }
}

type Fault = (Damage, String);

/// Parse one line and check it against its own hash.
fn read_record(info: &LineInfo, bytes: &[u8]) -> Result<AuditRecord, Fault> {
    if !info.complete {
        return Err((
            Damage::TruncatedTail,
            "the file ends inside this record (no newline at the end): it was cut after the \
             last complete record"
                .into(),
        ));
    }
    if bytes.is_empty() {
        return Err((Damage::Inserted, "an empty line was added here".into()));
    }
    let (canonical, hash) = split_line(bytes).ok_or((
        Damage::Edited,
        "the line does not end with a \"hash\" of 64 lowercase hex digits".to_string(),
    ))?;
    let record: AuditRecord = serde_json::from_slice(bytes).map_err(|e| {
        (
            Damage::Edited,
            format!("the line is not a valid audit record: {e}"),
        )
    })?;
    if !is_hash_hex(record.prev.as_bytes()) {
        return Err((
            Damage::Edited,
            "its \"prev\" is not 64 lowercase hex digits".into(),
        ));
    }
    let computed = chain_hash(&record.prev, &canonical);
    if computed != hash {
        return Err((
            Damage::Edited,
            format!(
                "seq {}: its contents do not match its hash (recorded {hash}, computed \
                 {computed}): the record was changed after it was written",
                record.seq
            ),
        ));
    }
    Ok(record)
}

/// Check that a self-consistent record continues the chain.
fn check_link<R: std::io::BufRead>(
    record: &AuditRecord,
    info: &LineInfo,
    expect: &Expect,
    rest: &mut Lines<R>,
) -> Result<(), Fault> {
    let (seq, e) = (record.seq, expect.seq);
    if seq == e && record.prev == expect.prev {
        return Ok(());
    }
    if let Some(prev_file) = &expect.boundary {
        return Err(splice(record, expect, prev_file));
    }
    if seq < e {
        return Err((
            Damage::Inserted,
            format!(
                "seq {seq} where seq {e} was expected: seq {seq} already appeared before this \
                 line, so this line was inserted (or copied)"
            ),
        ));
    }
    if seq > e {
        return Err(match find_seq_later(rest, e) {
            Some(at) => (
                Damage::Reordered,
                format!(
                    "seq {seq} where seq {e} was expected; seq {e} appears later, at line {at}"
                ),
            ),
            None => deleted(seq, e, info.number),
        });
    }
    Err(unlinked(seq, info.number, rest))
}

fn deleted(seq: u64, e: u64, line: u64) -> Fault {
    let missing = seq - e;
    let mut why = format!(
        "seq {seq} where seq {e} was expected: {missing} record(s) (seq {e} to {}) are missing",
        seq - 1
    );
    if line == 1 && e == 1 {
        why.push_str(
            "; if older files were rotated away, give them first, oldest first, or they were \
             deleted",
        );
    }
    (Damage::Deleted, why)
}

/// `seq` is right but `prev` is not the previous hash.
fn unlinked<R: std::io::BufRead>(seq: u64, line: u64, rest: &mut Lines<R>) -> Fault {
    let next_seq = next_record_seq(rest);
    if next_seq == Some(seq) {
        return (
            Damage::Inserted,
            format!(
                "seq {seq}: its prev is not the hash of line {} and line {} carries seq {seq} \
                 too: this line was inserted",
                line.saturating_sub(1),
                line + 1
            ),
        );
    }
    (
        Damage::Replaced,
        format!(
            "seq {seq}: its prev is not the hash of line {} (seq {}): that record was replaced \
             by one with a recomputed hash",
            line.saturating_sub(1),
            seq.saturating_sub(1)
        ),
    )
}

fn splice(record: &AuditRecord, expect: &Expect, prev_file: &Path) -> Fault {
    (
        Damage::SplicedRotation,
        format!(
            "the first record (seq {}, prev {}) does not continue {} which ends with seq {} and \
             hash {}: this file is not the next one in the chain (a file from elsewhere was spliced \
             in, or the file between them is missing)",
            record.seq,
            record.prev,
            prev_file.display(),
            expect.seq.saturating_sub(1),
            expect.prev
        ),
    )
}

/// The line number of the first later record with `seq`, ignoring lines that do not parse.
fn find_seq_later<R: std::io::BufRead>(rest: &mut Lines<R>, seq: u64) -> Option<u64> {
    while let Ok(Some(info)) = rest.next_line() {
        if seq_of(rest.bytes()) == Some(seq) {
            return Some(info.number);
        }
    }
    None
}

fn next_record_seq<R: std::io::BufRead>(rest: &mut Lines<R>) -> Option<u64> {
    match rest.next_line() {
        Ok(Some(_)) => seq_of(rest.bytes()),
        _ => None,
    }
}

fn seq_of(bytes: &[u8]) -> Option<u64> {
    #[derive(serde::Deserialize)]
    struct SeqOnly {
        seq: u64,
    }
    serde_json::from_slice::<SeqOnly>(bytes).ok().map(|s| s.seq)
}
