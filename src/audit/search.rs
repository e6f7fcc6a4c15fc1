//! `audit search`: the records of one person, cmdlet, period or decision.
//!
//! Search reads records; it does not check the chain (run `audit verify` for that). A line
//! that is not a record is an error naming the file and line, so nothing is silently skipped.

use super::event::Decision;
use super::lines::Lines;
use super::record::AuditRecord;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Every given criterion must match; an empty filter matches everything.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// The principal, compared case-insensitively.
    pub principal: Option<String>,
    /// A cmdlet name any command of the record must have, compared case-insensitively.
    pub cmdlet: Option<String>,
    /// Records at or after this time.
    pub since: Option<OffsetDateTime>,
    /// Records strictly before this time.
    pub until: Option<OffsetDateTime>,
    pub decision: Option<Decision>,
}

/// Parse an RFC 3339 time given on the command line.
pub fn parse_time(text: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(text, &Rfc3339)
        .map_err(|e| format!("{text:?} is not an RFC 3339 time like 2026-01-31T09:00:00Z: {e}"))
}

impl Filter {
    pub fn matches(&self, r: &AuditRecord) -> bool {
        let ev = &r.event;
        if let Some(p) = &self.principal {
            if !ev
                .principal
                .as_deref()
                .is_some_and(|x| x.eq_ignore_ascii_case(p))
            {
                return false;
            }
        }
        if let Some(c) = &self.cmdlet {
            if !ev.cmdlets.iter().any(|x| x.name.eq_ignore_ascii_case(c)) {
                return false;
            }
        }
        if self.decision.is_some() && ev.decision != self.decision {
            return false;
        }
        self.time_matches(&r.time)
    }

    fn time_matches(&self, time: &str) -> bool {
        if self.since.is_none() && self.until.is_none() {
            return true;
        }
        let Ok(t) = OffsetDateTime::parse(time, &Rfc3339) else {
            return false;
        };
        self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t < u)
    }
}

/// A line that could not be searched.
#[derive(Debug, thiserror::Error)]
#[error("{}: line {line}: {why}", file.display())]
pub struct SearchError {
    pub file: PathBuf,
    pub line: u64,
    pub why: String,
}

/// Call `found` with every matching record of `files` and its line as stored, in order;
/// returns how many matched.
pub fn search_files(
    files: &[PathBuf],
    filter: &Filter,
    mut found: impl FnMut(&AuditRecord, &[u8]),
) -> Result<u64, SearchError> {
    let mut matched = 0;
    for path in files {
        matched += search_file(path, filter, &mut found)?;
    }
    Ok(matched)
}

fn search_file(
    path: &Path,
    filter: &Filter,
    found: &mut impl FnMut(&AuditRecord, &[u8]),
) -> Result<u64, SearchError> {
    let err = |line: u64, why: String| SearchError {
        file: path.to_path_buf(),
        line,
        why,
    };
    let file = File::open(path).map_err(|e| err(0, e.to_string()))?;
    let mut lines = Lines::new(BufReader::new(file));
    let mut matched = 0;
    while let Some(info) = lines.next_line().map_err(|e| err(0, e.to_string()))? {
        let record: AuditRecord = serde_json::from_slice(lines.bytes())
            .map_err(|e| err(info.number, format!("not an audit record: {e}")))?;
        if filter.matches(&record) {
            matched += 1;
            found(&record, lines.bytes());
        }
    }
    Ok(matched)
}

/// The header of the human table.
pub const TABLE_HEADER: &str = "TIME                      SEQ  EVENT             PRINCIPAL                 DECISION     CMDLETS / REASON";

/// One row of the human table.
pub fn table_row(r: &AuditRecord) -> String {
    let ev = &r.event;
    let cmdlets: Vec<&str> = ev.cmdlets.iter().map(|c| c.name.as_str()).collect();
    let mut what = cmdlets.join(" | ");
    if let Some(reason) = &ev.reason {
        if !what.is_empty() {
            what.push_str(" -- ");
        }
        what.push_str(reason);
    }
    format!(
        "{:<25} {:>4}  {:<17} {:<25} {:<12} {}",
        r.time,
        r.seq,
        ev.event.as_str(),
        ev.principal.as_deref().unwrap_or("-"),
        ev.decision.map_or("-", |d| d.as_str()),
        what
    )
}
