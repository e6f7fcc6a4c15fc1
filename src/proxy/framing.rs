//! The framing guard: refuses request-smuggling shapes that hyper would quietly normalise.
//!
//! hyper accepts `Transfer-Encoding` together with `Content-Length` (it drops the length) and
//! repeated identical `Content-Length` lines (it keeps one), so the request it hands over no
//! longer shows the ambiguity. A front-end that accepts such a message while an endpoint reads it
//! differently is the classic smuggling set-up, so the gateway refuses them instead.
//!
//! [`FramingTracker`] sees every byte the client sends, in order, before hyper does. It re-parses
//! each request head with httparse (hyper's own parser, so head boundaries agree), checks the
//! framing headers, then follows the body (length or chunked, with hyper's strict grammar) to
//! find the next head. A head is judged once its blank line has arrived, on exactly the bytes up
//! to it, so the verdict never depends on how reads split the stream; the empty lines hyper skips
//! before a request line are not taken for that blank line. A violation is recorded in [`FramingVerdict`] against the request's index
//! on the connection; the request service looks it up and answers 400 with the connection closed.

use std::io;
use std::sync::{Arc, OnceLock};

/// Largest request head (request line and headers) accepted; hyper is set to the same value
/// and answers 431 above it. Bounds the guard's head buffer.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// Most header lines in one request head (hyper's default, set explicitly on both).
pub const MAX_HEADERS: usize = 100;

/// Head-buffer capacity kept between requests on one connection.
const RETAINED_HEAD_CAPACITY: usize = 8 * 1024;

/// Chunk-extension bytes allowed on one chunk-size line (hyper allows 16 KiB per body).
const MAX_CHUNK_EXTENSION_BYTES: u64 = 16 * 1024;

/// A framing problem that makes the request's extent ambiguous or unreadable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FramingViolation {
    /// Both `Transfer-Encoding` and `Content-Length`.
    LengthAndTransferEncoding,
    /// More than one `Content-Length` line, even with equal values.
    DuplicateContentLength,
    /// A `Content-Length` that is not a plain decimal number.
    InvalidContentLength,
    /// `Transfer-Encoding` other than exactly one `chunked` on HTTP/1.1.
    UnsupportedTransferEncoding,
    /// A head the parser rejects (obs-fold continuation lines, bad names, too large).
    MalformedHead,
}

impl FramingViolation {
    /// What was wrong, for the 400 body and the log.
    pub fn describe(self) -> &'static str {
        match self {
            Self::LengthAndTransferEncoding => {
                "the request has both Transfer-Encoding and Content-Length"
            }
            Self::DuplicateContentLength => "the request has more than one Content-Length header",
            Self::InvalidContentLength => "the Content-Length header is not a decimal number",
            Self::UnsupportedTransferEncoding => {
                "Transfer-Encoding must be exactly \"chunked\" (once, on HTTP/1.1)"
            }
            Self::MalformedHead => {
                "the request head is malformed (e.g. an obs-fold continuation line)"
            }
        }
    }
}

/// The guard's finding for a connection, shared with the request service.
#[derive(Debug, Default)]
pub struct FramingVerdict {
    /// The index (0-based, per connection) of the first refused request, and why.
    refused: OnceLock<(u64, FramingViolation)>,
}

impl FramingVerdict {
    /// The violation to answer for the request with this index, if any. Requests after a
    /// refused one are refused too: framing is lost from there on.
    pub fn for_request(&self, index: u64) -> Option<FramingViolation> {
        match self.refused.get() {
            Some((first, violation)) if *first <= index => Some(*violation),
            _ => None,
        }
    }

    fn record(&self, index: u64, violation: FramingViolation) {
        let _first_wins = self.refused.set((index, violation));
    }
}

/// Where in the request stream the next byte belongs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Head,
    Length(u64),
    Chunked(Chunk),
    /// After a violation: nothing more is checked, the connection is being closed.
    Stopped,
}

/// The chunked-body grammar, mirroring hyper's decoder (CRLF strictly).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    Start,
    Size(u64),
    SizeLws(u64),
    Extension(u64, u64),
    SizeLf(u64),
    Data(u64),
    DataCr,
    DataLf,
    EndCr,
    Trailer,
    TrailerLf,
    EndLf,
}

/// Follows one connection's request stream; see the module docs.
#[derive(Debug)]
pub struct FramingTracker {
    state: State,
    head: Vec<u8>,
    /// Where the request line starts in `head`: past the empty lines hyper skips before it.
    line_start: usize,
    heads_seen: u64,
    verdict: Arc<FramingVerdict>,
}

/// How a checked head frames its body.
enum Framing {
    Length(u64),
    Chunked,
}

impl FramingTracker {
    pub fn new(verdict: Arc<FramingVerdict>) -> Self {
        FramingTracker {
            state: State::Head,
            head: Vec::new(),
            line_start: 0,
            heads_seen: 0,
            verdict,
        }
    }

    /// Account for bytes just read from the client. An error means the chunked body broke the
    /// grammar hyper also enforces: the connection cannot continue.
    pub fn feed(&mut self, mut input: &[u8]) -> io::Result<()> {
        while !input.is_empty() {
            input = match self.state {
                State::Stopped => return Ok(()),
                State::Head => self.feed_head(input),
                State::Length(remaining) => self.feed_length(remaining, input),
                State::Chunked(Chunk::Data(remaining)) => self.feed_chunk_data(remaining, input),
                State::Chunked(chunk) => self.feed_chunk_byte(chunk, input)?,
            };
        }
        Ok(())
    }

    /// Buffer head bytes until the first blank line after the request line, then judge the
    /// head. Only the bytes up to that blank line are parsed, so the verdict cannot depend on
    /// how reads split the stream (or on what follows the head in the same read).
    fn feed_head<'a>(&mut self, input: &'a [u8]) -> &'a [u8] {
        let before = self.head.len();
        let room = (MAX_HEAD_BYTES + 1).saturating_sub(before);
        let taken = input.len().min(room);
        self.head
            .extend_from_slice(input.get(..taken).unwrap_or_default());
        self.line_start = skip_empty_lines(&self.head, self.line_start);
        let scan_from = before.saturating_sub(2).max(self.line_start);
        let Some(end) = head_end(&self.head, scan_from) else {
            if self.head.len() > MAX_HEAD_BYTES {
                self.refuse(FramingViolation::MalformedHead);
            }
            return input.get(taken..).unwrap_or_default();
        };
        let judged = judge_head(self.head.get(..end).unwrap_or_default());
        self.release_head();
        match judged {
            Ok(framing) => self.start_body(framing),
            Err(violation) => self.refuse(violation),
        }
        input.get(end.saturating_sub(before)..).unwrap_or_default()
    }

    fn start_body(&mut self, framing: Framing) {
        self.heads_seen += 1;
        self.state = match framing {
            Framing::Length(0) => State::Head,
            Framing::Length(n) => State::Length(n),
            Framing::Chunked => State::Chunked(Chunk::Start),
        };
    }

    fn refuse(&mut self, violation: FramingViolation) {
        self.verdict.record(self.heads_seen, violation);
        self.state = State::Stopped;
        self.head = Vec::new();
        self.line_start = 0;
    }

    /// Empty the head buffer for the next head; give back memory a large head took, so an idle
    /// keep-alive connection holds at most [`RETAINED_HEAD_CAPACITY`].
    fn release_head(&mut self) {
        self.line_start = 0;
        if self.head.capacity() > RETAINED_HEAD_CAPACITY {
            self.head = Vec::new();
        } else {
            self.head.clear();
        }
    }

    fn feed_length<'a>(&mut self, remaining: u64, input: &'a [u8]) -> &'a [u8] {
        let (left, rest) = skip(remaining, input);
        self.state = if left == 0 {
            State::Head
        } else {
            State::Length(left)
        };
        rest
    }

    fn feed_chunk_data<'a>(&mut self, remaining: u64, input: &'a [u8]) -> &'a [u8] {
        let (left, rest) = skip(remaining, input);
        self.state = State::Chunked(if left == 0 {
            Chunk::DataCr
        } else {
            Chunk::Data(left)
        });
        rest
    }

    fn feed_chunk_byte<'a>(&mut self, chunk: Chunk, input: &'a [u8]) -> io::Result<&'a [u8]> {
        let Some((&byte, rest)) = input.split_first() else {
            return Ok(input);
        };
        match step(chunk, byte) {
            Some(Some(next)) => self.state = State::Chunked(next),
            Some(None) => self.state = State::Head,
            None => {
                self.state = State::Stopped;
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "chunked request body breaks the chunk grammar",
                ));
            }
        }
        Ok(rest)
    }
}

/// Skip up to `remaining` bytes of `input`: what is left to skip, and the rest of the input.
fn skip(remaining: u64, input: &[u8]) -> (u64, &[u8]) {
    let take = usize::try_from(remaining).map_or(input.len(), |r| r.min(input.len()));
    (
        remaining - take as u64,
        input.get(take..).unwrap_or_default(),
    )
}

/// Skip the empty lines (CRLF or bare LF) that httparse, and so hyper, ignore before a request
/// line (RFC 9112 §2.2), resuming at `from`. They are not a head's end, but they still count
/// towards [`MAX_HEAD_BYTES`], as hyper counts them. A CR not yet followed by its LF stays.
fn skip_empty_lines(head: &[u8], mut from: usize) -> usize {
    loop {
        match head.get(from..).unwrap_or_default() {
            [b'\n', ..] => from += 1,
            [b'\r', b'\n', ..] => from += 2,
            _ => return from,
        }
    }
}

/// The end of the first blank line (`\n\n` or `\n\r\n`) starting at or after `from`: where
/// httparse ends the head. Saves re-parsing a head that arrives one byte at a time.
fn head_end(head: &[u8], from: usize) -> Option<usize> {
    let tail = head.get(from..)?;
    (0..tail.len()).find_map(|i| match tail.get(i..)? {
        [b'\n', b'\n', ..] => Some(from + i + 2),
        [b'\n', b'\r', b'\n', ..] => Some(from + i + 3),
        _ => None,
    })
}

/// Parse one complete head (ending in its blank line) and apply the framing rules. Anything
/// httparse does not read as exactly this head, or a head over the limit hyper enforces
/// (leading empty lines included), is malformed.
fn judge_head(head: &[u8]) -> Result<Framing, FramingViolation> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    match request.parse(head) {
        Ok(httparse::Status::Complete(len)) if len == head.len() && len <= MAX_HEAD_BYTES => {
            check_head(request.version, request.headers)
        }
        _ => Err(FramingViolation::MalformedHead),
    }
}

/// The framing rules: at most one `Content-Length` (digits only), `Transfer-Encoding` only as a
/// single `chunked` on HTTP/1.1, and never both.
fn check_head(
    version: Option<u8>,
    headers: &[httparse::Header<'_>],
) -> Result<Framing, FramingViolation> {
    let mut length = None;
    let mut chunked = false;
    for header in headers {
        if header.name.eq_ignore_ascii_case("content-length") {
            if length.is_some() {
                return Err(FramingViolation::DuplicateContentLength);
            }
            length = Some(parse_length(header.value)?);
        } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
            let value = header.value.trim_ascii();
            if chunked || !value.eq_ignore_ascii_case(b"chunked") || version != Some(1) {
                return Err(FramingViolation::UnsupportedTransferEncoding);
            }
            chunked = true;
        }
    }
    match (chunked, length) {
        (true, Some(_)) => Err(FramingViolation::LengthAndTransferEncoding),
        (true, None) => Ok(Framing::Chunked),
        (false, length) => Ok(Framing::Length(length.unwrap_or(0))),
    }
}

fn parse_length(value: &[u8]) -> Result<u64, FramingViolation> {
    let value = value.trim_ascii();
    let digits_only =
        !value.is_empty() && value.len() <= 19 && value.iter().all(u8::is_ascii_digit);
    if !digits_only {
        return Err(FramingViolation::InvalidContentLength);
    }
    std::str::from_utf8(value)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or(FramingViolation::InvalidContentLength)
}

/// One byte of chunked framing: `Some(Some(next))` to continue, `Some(None)` when the body
/// ended, `None` when the byte breaks the grammar.
fn step(chunk: Chunk, byte: u8) -> Option<Option<Chunk>> {
    use Chunk::*;
    let next = match (chunk, byte) {
        (Start, b) => Size(hex(b)?),
        (Size(n), b) if b.is_ascii_hexdigit() => Size(n.checked_mul(16)?.checked_add(hex(b)?)?),
        (Size(n) | SizeLws(n), b' ' | b'\t') => SizeLws(n),
        (Size(n) | SizeLws(n), b';') => Extension(n, 0),
        (Size(n) | SizeLws(n) | Extension(n, _), b'\r') => SizeLf(n),
        (Extension(_, _), b'\n') => return None,
        (Extension(n, count), _) if count + 1 < MAX_CHUNK_EXTENSION_BYTES => {
            Extension(n, count + 1)
        }
        (SizeLf(0), b'\n') => EndCr,
        (SizeLf(n), b'\n') => Data(n),
        (DataCr, b'\r') => DataLf,
        (DataLf, b'\n') => Start,
        (EndCr, b'\r') => EndLf,
        (Trailer, b'\r') => TrailerLf,
        (EndCr | Trailer, _) => Trailer,
        (TrailerLf, b'\n') => EndCr,
        (EndLf, b'\n') => return Some(None),
        _ => return None,
    };
    Some(Some(next))
}

fn hex(byte: u8) -> Option<u64> {
    char::from(byte).to_digit(16).map(u64::from)
}

#[cfg(test)]
mod tests;
