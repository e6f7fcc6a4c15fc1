//! The files of one chain: the current file, its rotated predecessors, and where the chain ends.
//!
//! Rotation renames `<path>` to `<path>.<n>` with `n` one more than the highest existing suffix,
//! so the rotated files sort by `n` in chain order, and `<path>` is always the newest.

use super::error::AuditError;
use super::lines::Lines;
use super::record::{chain_hash, split_line, AuditRecord, GENESIS_PREV};
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

/// Where the chain ends: the last record's seq and hash (0 and the genesis for a new chain).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainTip {
    pub seq: u64,
    pub hash: String,
}

impl ChainTip {
    pub fn genesis() -> ChainTip {
        ChainTip {
            seq: 0,
            hash: GENESIS_PREV.to_string(),
        }
    }
}

/// `<path>.<n>`.
pub fn rotated_path(path: &Path, n: u64) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

/// The rotated files of `path`, oldest first, as `(n, path)`.
pub fn rotated_files(path: &Path) -> Result<Vec<(u64, PathBuf)>, AuditError> {
    let dir = parent_dir(path);
    let Some(base) = path.file_name().and_then(|n| n.to_str()) else {
        return Err(open_error(path, "the path has no file name"));
    };
    let entries = std::fs::read_dir(&dir).map_err(|e| open_error(&dir, e))?;
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| open_error(&dir, e))?;
        let name = entry.file_name();
        let Some(suffix) = name.to_str().and_then(|n| n.strip_prefix(base)) else {
            continue;
        };
        let Some(digits) = suffix.strip_prefix('.') else {
            continue;
        };
        if let Ok(n) = digits.parse::<u64>() {
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                found.push((n, entry.path()));
            }
        }
    }
    found.sort();
    Ok(found)
}

/// The directory holding `path` (`.` for a bare file name).
pub fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

pub(crate) fn open_error(path: &Path, e: impl std::fmt::Display) -> AuditError {
    AuditError::Open {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// The tip of the chain stored in `path` and its rotated files: the last record of the current
/// file, else of the newest rotated file (a crash right after a rotation leaves `<path>` empty).
pub fn find_tip(path: &Path, rotated: &[(u64, PathBuf)]) -> Result<ChainTip, AuditError> {
    if let Some(tip) = file_tip(path)? {
        return Ok(tip);
    }
    match rotated.last() {
        Some((_, newest)) => Ok(file_tip(newest)?.unwrap_or_else(ChainTip::genesis)),
        None => Ok(ChainTip::genesis()),
    }
}

/// The last record of one file, checked against its own hash; `None` if the file is missing,
/// empty, or not a regular file (a device such as `/dev/null` has no records to resume).
pub fn file_tip(path: &Path) -> Result<Option<ChainTip>, AuditError> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(open_error(path, e)),
    };
    if !meta.is_file() || meta.len() == 0 {
        return Ok(None);
    }
    let file = File::open(path).map_err(|e| open_error(path, e))?;
    let mut lines = Lines::new(BufReader::new(file));
    let mut last: Option<(u64, Vec<u8>)> = None;
    while let Some(info) = lines.next_line().map_err(|e| open_error(path, e))? {
        if !info.complete {
            return Err(AuditError::TornTail {
                path: path.to_path_buf(),
                line: info.number,
                keep_bytes: info.offset,
            });
        }
        last = Some((info.number, lines.bytes().to_vec()));
    }
    match last {
        Some((line, bytes)) => tip_of_line(path, line, &bytes).map(Some),
        None => Ok(None),
    }
}

fn tip_of_line(path: &Path, line: u64, bytes: &[u8]) -> Result<ChainTip, AuditError> {
    let bad = |why: &str| AuditError::BadRecord {
        path: path.to_path_buf(),
        line,
        why: why.to_string(),
    };
    let (canonical, hash) =
        split_line(bytes).ok_or_else(|| bad("it does not end with a 64-hex-digit \"hash\""))?;
    let record: AuditRecord = serde_json::from_slice(bytes)
        .map_err(|e| bad(&format!("it is not a valid audit record ({e})")))?;
    if chain_hash(&record.prev, &canonical) != hash {
        return Err(bad("its hash does not match its contents (edited record)"));
    }
    Ok(ChainTip {
        seq: record.seq,
        hash: hash.to_string(),
    })
}
