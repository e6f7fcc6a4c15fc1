//! PSRP fragments (MS-PSRP §2.2.4): a 21-byte big-endian header and a blob.
//!
//! A base64 payload may carry several fragments back to back, of different messages. A message
//! larger than the sender's blob size is split into fragments with consecutive `FragmentId`s,
//! the first flagged Start and the last flagged End.

use crate::inspect::error::{InspectError, Layer};

/// Size of the fragment header: ObjectId (8), FragmentId (8), flags (1), BlobLength (4).
pub const FRAGMENT_HEADER_LEN: usize = 21;
/// Flag bit: first fragment of a message.
pub const FLAG_START: u8 = 0x01;
/// Flag bit: last fragment of a message.
pub const FLAG_END: u8 = 0x02;

/// One fragment, borrowing its blob from the decoded payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fragment<'a> {
    /// Identifies the message; the same for all its fragments, never 0.
    pub object_id: u64,
    /// Position of this fragment in its message, from 0.
    pub fragment_id: u64,
    pub start: bool,
    pub end: bool,
    /// The bytes of the message this fragment carries.
    pub blob: &'a [u8],
}

impl<'a> Fragment<'a> {
    /// Parse one fragment at the start of `data`, returning it and the rest.
    pub fn parse(data: &'a [u8]) -> Result<(Fragment<'a>, &'a [u8]), InspectError> {
        let (head, rest) = data.split_at_checked(FRAGMENT_HEADER_LEN).ok_or_else(|| {
            InspectError::malformed(
                Layer::Fragment,
                "header",
                format!(
                    "truncated: {} bytes left, a fragment header needs {FRAGMENT_HEADER_LEN}",
                    data.len()
                ),
            )
        })?;
        let object_id = be_u64(head, 0);
        let fragment_id = be_u64(head, 8);
        let flags = head.get(16).copied().unwrap_or(0);
        let blob_len = be_u32(head, 17) as usize;
        if object_id == 0 {
            return Err(InspectError::malformed(
                Layer::Fragment,
                "ObjectId",
                "is 0; MS-PSRP requires ObjectId > 0",
            ));
        }
        if flags & !(FLAG_START | FLAG_END) != 0 {
            return Err(InspectError::malformed(
                Layer::Fragment,
                "flags",
                format!(
                    "unknown bits set in 0x{flags:02x}; only Start (0x01) and End (0x02) exist"
                ),
            ));
        }
        let (blob, rest) = rest.split_at_checked(blob_len).ok_or_else(|| {
            InspectError::malformed(
                Layer::Fragment,
                "BlobLength",
                format!(
                    "truncated: header of ObjectId {object_id} FragmentId {fragment_id} announces {blob_len} bytes, {} present",
                    rest.len()
                ),
            )
        })?;
        let fragment = Fragment {
            object_id,
            fragment_id,
            start: flags & FLAG_START != 0,
            end: flags & FLAG_END != 0,
            blob,
        };
        Ok((fragment, rest))
    }

    /// Append this fragment's wire form to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.object_id.to_be_bytes());
        out.extend_from_slice(&self.fragment_id.to_be_bytes());
        let mut flags = 0u8;
        if self.start {
            flags |= FLAG_START;
        }
        if self.end {
            flags |= FLAG_END;
        }
        out.push(flags);
        out.extend_from_slice(&(self.blob.len() as u32).to_be_bytes());
        out.extend_from_slice(self.blob);
    }
}

/// Iterate over the fragments of a decoded payload; stops at the first malformed fragment.
pub fn fragments(data: &[u8]) -> Fragments<'_> {
    Fragments { rest: data }
}

/// Iterator returned by [`fragments`].
#[derive(Debug, Clone)]
pub struct Fragments<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Fragments<'a> {
    type Item = Result<Fragment<'a>, InspectError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        match Fragment::parse(self.rest) {
            Ok((fragment, rest)) => {
                self.rest = rest;
                Some(Ok(fragment))
            }
            Err(e) => {
                self.rest = &[];
                Some(Err(e))
            }
        }
    }
}

/// Parse every fragment of a decoded payload.
pub fn parse_fragments(data: &[u8]) -> Result<Vec<Fragment<'_>>, InspectError> {
    fragments(data).collect()
}

/// Split one message into fragments of at most `max_blob` bytes each (at least one fragment,
/// even for an empty message). `max_blob` of 0 is treated as 1.
pub fn split_message(object_id: u64, message: &[u8], max_blob: usize) -> Vec<Fragment<'_>> {
    let max_blob = max_blob.max(1);
    let mut chunks: Vec<&[u8]> = message.chunks(max_blob).collect();
    if chunks.is_empty() {
        chunks.push(&[]);
    }
    let last = chunks.len() - 1;
    chunks
        .into_iter()
        .enumerate()
        .map(|(i, blob)| Fragment {
            object_id,
            fragment_id: i as u64,
            start: i == 0,
            end: i == last,
            blob,
        })
        .collect()
}

/// Encode a whole message as back-to-back fragments of at most `max_blob` bytes.
pub fn encode_message(object_id: u64, message: &[u8], max_blob: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + FRAGMENT_HEADER_LEN);
    for f in split_message(object_id, message, max_blob) {
        f.encode(&mut out);
    }
    out
}

fn be_u64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    if let Some(s) = b.get(at..at + 8) {
        a.copy_from_slice(s);
    }
    u64::from_be_bytes(a)
}

fn be_u32(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    if let Some(s) = b.get(at..at + 4) {
        a.copy_from_slice(s);
    }
    u32::from_be_bytes(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_fragment_round_trips() {
        let f = Fragment {
            object_id: 7,
            fragment_id: 0,
            start: true,
            end: true,
            blob: b"hello",
        };
        let mut out = Vec::new();
        f.encode(&mut out);
        assert_eq!(out.len(), FRAGMENT_HEADER_LEN + 5);
        assert_eq!(&out[..8], &7u64.to_be_bytes());
        assert_eq!(out[16], 0x03);
        let (back, rest) = Fragment::parse(&out).unwrap();
        assert_eq!(back, f);
        assert!(rest.is_empty());
    }

    #[test]
    fn back_to_back_fragments_of_different_messages_parse() {
        let mut data = encode_message(1, b"first", 100);
        data.extend(encode_message(2, b"second", 100));
        let all = parse_fragments(&data).unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].object_id, 2);
        assert_eq!(all[1].blob, b"second");
    }

    #[test]
    fn split_gives_consecutive_ids_and_flags() {
        let msg = b"abcdefghij";
        let frags = split_message(9, msg, 4);
        assert_eq!(frags.len(), 3);
        assert!(frags[0].start && !frags[0].end);
        assert!(!frags[1].start && !frags[1].end);
        assert!(!frags[2].start && frags[2].end);
        assert_eq!(frags[2].fragment_id, 2);
        let joined: Vec<u8> = frags.iter().flat_map(|f| f.blob.iter().copied()).collect();
        assert_eq!(joined, msg);
    }

    #[test]
    fn empty_message_is_one_start_end_fragment() {
        let frags = split_message(3, b"", 10);
        assert_eq!(frags.len(), 1);
        assert!(frags[0].start && frags[0].end);
    }

    #[test]
    fn truncated_header_is_an_error() {
        let e = Fragment::parse(&[0u8; 20]).unwrap_err();
        assert!(e.to_string().contains("header"), "{e}");
    }

    #[test]
    fn truncated_blob_is_an_error_naming_blob_length() {
        let mut data = encode_message(1, b"hello", 100);
        data.pop();
        let e = Fragment::parse(&data).unwrap_err();
        assert!(e.to_string().contains("BlobLength"), "{e}");
    }

    #[test]
    fn object_id_zero_is_refused() {
        let data = encode_message(0, b"x", 100);
        assert!(Fragment::parse(&data)
            .unwrap_err()
            .to_string()
            .contains("ObjectId"));
    }

    #[test]
    fn unknown_flag_bits_are_refused() {
        let mut data = encode_message(1, b"x", 100);
        data[16] = 0x07;
        assert!(Fragment::parse(&data)
            .unwrap_err()
            .to_string()
            .contains("flags"));
    }

    #[test]
    fn iterator_stops_after_an_error() {
        let mut data = encode_message(1, b"x", 100);
        data.extend_from_slice(&[1, 2, 3]);
        let items: Vec<_> = fragments(&data).collect();
        assert_eq!(items.len(), 2);
        assert!(items[1].is_err());
    }
}
