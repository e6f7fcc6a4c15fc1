//! Reading audit files line by line with a bound on the line length.

use std::io::{BufRead, Read};

/// The longest line the readers (`verify`, `search`, resuming at start) accept. Records are
/// bounded by `[audit] max_record_bytes`, which the config keeps at or below this.
pub const MAX_LINE_BYTES: u64 = 16 * 1024 * 1024;

/// One line as read: its 1-based number, byte offset, and whether it ended in `\n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineInfo {
    pub number: u64,
    pub offset: u64,
    pub complete: bool,
}

/// A line reader that never buffers more than [`MAX_LINE_BYTES`] + 1 bytes.
pub struct Lines<R> {
    reader: R,
    number: u64,
    offset: u64,
    buf: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum LineError {
    #[error("line {line} is longer than {MAX_LINE_BYTES} bytes")]
    TooLong { line: u64 },
    #[error("read error after line {line}: {source}")]
    Io { line: u64, source: std::io::Error },
}

impl<R: BufRead> Lines<R> {
    pub fn new(reader: R) -> Self {
        Lines {
            reader,
            number: 0,
            offset: 0,
            buf: Vec::new(),
        }
    }

    /// The next line (its bytes without `\n` are in [`Lines::bytes`]), or `None` at the end.
    pub fn next_line(&mut self) -> Result<Option<LineInfo>, LineError> {
        self.buf.clear();
        let line = self.number + 1;
        let read = (&mut self.reader)
            .take(MAX_LINE_BYTES + 1)
            .read_until(b'\n', &mut self.buf)
            .map_err(|source| LineError::Io {
                line: self.number,
                source,
            })?;
        if read == 0 {
            return Ok(None);
        }
        let complete = self.buf.last() == Some(&b'\n');
        if complete {
            self.buf.pop();
        }
        if self.buf.len() as u64 > MAX_LINE_BYTES {
            return Err(LineError::TooLong { line });
        }
        let info = LineInfo {
            number: line,
            offset: self.offset,
            complete,
        };
        self.number = line;
        self.offset += read as u64;
        Ok(Some(info))
    }

    /// The bytes of the line last returned, without its `\n`.
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_report_numbers_offsets_and_a_missing_final_newline() {
        let mut l = Lines::new(&b"ab\ncde\nf"[..]);
        let a = l.next_line().unwrap().unwrap();
        assert_eq!(
            (a.number, a.offset, a.complete, l.bytes()),
            (1, 0, true, &b"ab"[..])
        );
        let b = l.next_line().unwrap().unwrap();
        assert_eq!((b.number, b.offset, b.complete), (2, 3, true));
        let c = l.next_line().unwrap().unwrap();
        assert_eq!(
            (c.number, c.offset, c.complete, l.bytes()),
            (3, 7, false, &b"f"[..])
        );
        assert!(l.next_line().unwrap().is_none());
    }

    #[test]
    fn a_line_over_the_limit_is_an_error_and_one_at_the_limit_is_not() {
        let at = vec![b'x'; MAX_LINE_BYTES as usize];
        let mut ok = Lines::new(&at[..]);
        assert!(ok.next_line().unwrap().is_some());
        let over = vec![b'x'; MAX_LINE_BYTES as usize + 1];
        let mut bad = Lines::new(&over[..]);
        assert!(matches!(
            bad.next_line(),
            Err(LineError::TooLong { line: 1 })
        ));
    }
}
