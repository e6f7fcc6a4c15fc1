//! WS-Man stream compression framing (MS-WSMV note <134>, protocol.md §2.5).
//!
//! The decoded stream is a sequence of blocks, each with a 4-byte header: original length − 1
//! and compressed length − 1, two little-endian u16. Equal lengths mean the block is stored raw.
//! Real LZ77+Huffman blocks are refused: no well-kept Rust decoder is available here, and a
//! guess would be a bypass.

use crate::inspect::error::{InspectError, Layer};

/// Size of a block header.
pub const BLOCK_HEADER_LEN: usize = 4;
/// Largest original size of one block.
pub const MAX_BLOCK: usize = 65_536;

const L: Layer = Layer::Compression;

/// How a stream's blocks look, without decoding them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// Every block header is consistent and the blocks exactly cover the data.
    Blocks,
    /// The data cannot be a block sequence.
    NotBlocks,
}

/// Check whether `data` is exactly a sequence of blocks.
pub fn framing(data: &[u8]) -> Framing {
    let mut rest = data;
    while !rest.is_empty() {
        let Some((orig, comp)) = header(rest) else {
            return Framing::NotBlocks;
        };
        if comp > orig {
            return Framing::NotBlocks;
        }
        match rest.get(BLOCK_HEADER_LEN + comp..) {
            Some(next) => rest = next,
            None => return Framing::NotBlocks,
        }
    }
    if data.is_empty() {
        Framing::NotBlocks
    } else {
        Framing::Blocks
    }
}

/// Decode a block sequence, appending the original bytes to `out`; stops at `max_out` bytes.
pub fn decode(data: &[u8], out: &mut Vec<u8>, max_out: usize) -> Result<(), InspectError> {
    let mut rest = data;
    while !rest.is_empty() {
        let (orig, comp) = header(rest).ok_or_else(|| {
            InspectError::malformed(L, "block header", "truncated: fewer than 4 bytes")
        })?;
        let block = rest
            .get(BLOCK_HEADER_LEN..BLOCK_HEADER_LEN + comp)
            .ok_or_else(|| {
                InspectError::malformed(
                    L,
                    "block",
                    format!(
                        "truncated: header announces {comp} bytes, {} present",
                        rest.len().saturating_sub(BLOCK_HEADER_LEN)
                    ),
                )
            })?;
        if orig != comp {
            return Err(InspectError::unsupported(
                L,
                "block",
                format!("LZ77+Huffman compressed block ({comp} -> {orig} bytes); create the session with -NoCompression (New-PSSessionOption) to be inspectable"),
            ));
        }
        if out.len() + orig > max_out {
            return Err(InspectError::limit(
                L,
                "max_message_bytes",
                max_out,
                "decompressed stream too large",
            ));
        }
        out.extend_from_slice(block);
        rest = rest.get(BLOCK_HEADER_LEN + comp..).unwrap_or(&[]);
    }
    Ok(())
}

/// Frame `data` as stored blocks (what a synthetic response or a test needs; no compressor).
pub fn encode_stored(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + BLOCK_HEADER_LEN * (data.len() / MAX_BLOCK + 1));
    for chunk in data.chunks(MAX_BLOCK) {
        let len = (chunk.len() - 1) as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out
}

/// (original length, compressed length) of the block at the start of `data`.
fn header(data: &[u8]) -> Option<(usize, usize)> {
    let h = data.get(..BLOCK_HEADER_LEN)?;
    let orig = u16::from_le_bytes([*h.first()?, *h.get(1)?]) as usize + 1;
    let comp = u16::from_le_bytes([*h.get(2)?, *h.get(3)?]) as usize + 1;
    Some((orig, comp))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_round_trip_across_block_boundary() {
        let data: Vec<u8> = (0..150_000u32).map(|i| i as u8).collect();
        let framed = encode_stored(&data);
        assert_eq!(framing(&framed), Framing::Blocks);
        let mut out = Vec::new();
        decode(&framed, &mut out, usize::MAX).unwrap();
        assert_eq!(out, data);
    }

    #[test]
    fn huffman_block_is_refused_precisely() {
        let framed = [0x09, 0x00, 0x01, 0x00, 0xAA, 0xBB];
        assert_eq!(framing(&framed), Framing::Blocks);
        let e = decode(&framed, &mut Vec::new(), usize::MAX).unwrap_err();
        assert!(matches!(e, InspectError::Unsupported { .. }), "{e}");
        assert!(e.to_string().contains("NoCompression"));
    }

    #[test]
    fn truncated_block_is_refused() {
        let mut framed = encode_stored(b"hello");
        framed.pop();
        assert_eq!(framing(&framed), Framing::NotBlocks);
        assert!(decode(&framed, &mut Vec::new(), usize::MAX).is_err());
    }

    #[test]
    fn output_limit_at_its_edge() {
        let framed = encode_stored(b"hello");
        assert!(decode(&framed, &mut Vec::new(), 5).is_ok());
        let e = decode(&framed, &mut Vec::new(), 4).unwrap_err();
        assert_eq!(e.limit_name(), Some("max_message_bytes"));
    }

    #[test]
    fn synthetic_vector_decodes_to_the_plain_fragment() {
        use base64::Engine;
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/vectors");
        let (Ok(x), Ok(p)) = (
            std::fs::read_to_string(
                dir.join("synth_pipeline_state_failed_fragment_xpress_stored.b64"),
            ),
            std::fs::read_to_string(dir.join("synth_pipeline_state_failed_fragment.b64")),
        ) else {
            return;
        };
        let b64 = base64::engine::general_purpose::STANDARD;
        let x = b64.decode(x.trim()).unwrap();
        let p = b64.decode(p.trim()).unwrap();
        let mut out = Vec::new();
        decode(&x, &mut out, usize::MAX).unwrap();
        assert_eq!(out, p);
        assert_eq!(encode_stored(&p), x);
    }
}
