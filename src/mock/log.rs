//! The `--log FILE` of the mock: one JSON line per executed command (and per Signal that ended a
//! command before it ran), appended and written with one `write` call per line, so a test can
//! read the file the moment a response arrives.

use serde_json::Value;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// An append-only JSON-lines file shared by all connections.
#[derive(Debug)]
pub struct CommandLog {
    path: PathBuf,
    /// One writer at a time, so two lines never interleave.
    file: Mutex<File>,
}

impl CommandLog {
    /// Open (creating if needed) `path` for appending.
    pub fn open(path: &Path) -> std::io::Result<CommandLog> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(CommandLog {
            path: path.to_path_buf(),
            file: Mutex::new(file),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Append one record as one line. The line is complete on disk (in the page cache) when
    /// this returns; no userspace buffer holds it back.
    pub fn append(&self, record: &Value) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(record)?;
        line.push(b'\n');
        let mut file = self
            .file
            .lock()
            .map_err(|_| std::io::Error::other("command log lock poisoned by a panicked writer"))?;
        file.write_all(&line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_record_is_one_line_readable_immediately_and_appends_across_opens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mock.jsonl");
        let log = CommandLog::open(&path).unwrap();
        log.append(&json!({"cmdlet": "Get-Mailbox", "text": "two\nlines"}))
            .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "{\"cmdlet\":\"Get-Mailbox\",\"text\":\"two\\nlines\"}\n"
        );
        drop(log);
        CommandLog::open(&path)
            .unwrap()
            .append(&json!({"n": 2}))
            .unwrap();
        let lines: Vec<Value> = std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            lines,
            vec![
                json!({"cmdlet": "Get-Mailbox", "text": "two\nlines"}),
                json!({"n": 2})
            ]
        );
    }
}
