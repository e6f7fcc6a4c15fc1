//! CLIXML string escaping (MS-PSRP §2.2.5.3.2): `_xHHHH_` for control characters and UTF-16
//! surrogates, `_x005F_` for an underscore that would otherwise start an escape.
//!
//! Decoding follows .NET `XmlConvert.DecodeName`: `_xHHHH_` and `_xHHHHHHHH_`, either case of
//! `x` and of the hex digits. An escaped surrogate pair becomes one character; a lone surrogate
//! becomes U+FFFD because a Rust string cannot hold it.

use std::borrow::Cow;

/// Decode `_xHHHH_` escapes. Borrows when there is nothing to decode.
pub fn decode(s: &str) -> Cow<'_, str> {
    if !s.contains('_') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut pending_high: Option<u16> = None;
    let mut rest = s;
    while let Some(pos) = rest.find('_') {
        let (before, at) = rest.split_at(pos);
        if !before.is_empty() {
            flush_high(&mut out, &mut pending_high);
            out.push_str(before);
        }
        match parse_escape(at) {
            Some((Escaped::Unit(u), len)) => {
                push_unit(&mut out, &mut pending_high, u);
                rest = at.get(len..).unwrap_or("");
            }
            Some((Escaped::Char(c), len)) => {
                flush_high(&mut out, &mut pending_high);
                out.push(c);
                rest = at.get(len..).unwrap_or("");
            }
            None => {
                flush_high(&mut out, &mut pending_high);
                out.push('_');
                rest = at.get(1..).unwrap_or("");
            }
        }
    }
    flush_high(&mut out, &mut pending_high);
    out.push_str(rest);
    Cow::Owned(out)
}

enum Escaped {
    /// A UTF-16 code unit from `_xHHHH_` (may be a surrogate).
    Unit(u16),
    /// A whole character from `_xHHHHHHHH_`.
    Char(char),
}

/// Parse an escape at the start of `s` (which starts with `_`); returns it and its length.
fn parse_escape(s: &str) -> Option<(Escaped, usize)> {
    let b = s.as_bytes();
    if !matches!(b.get(1), Some(b'x' | b'X')) {
        return None;
    }
    if let Some(v) = hex_then_underscore(b, 8) {
        if let Some(c) = char::from_u32(v) {
            return Some((Escaped::Char(c), 11));
        }
    }
    let v = hex_then_underscore(b, 4)?;
    Some((Escaped::Unit(v as u16), 7))
}

/// `n` hex digits at offset 2 followed by `_`.
fn hex_then_underscore(b: &[u8], n: usize) -> Option<u32> {
    let digits = b.get(2..2 + n)?;
    if b.get(2 + n) != Some(&b'_') {
        return None;
    }
    let mut v: u32 = 0;
    for d in digits {
        v = v.checked_mul(16)? + (*d as char).to_digit(16)?;
    }
    Some(v)
}

fn push_unit(out: &mut String, pending_high: &mut Option<u16>, u: u16) {
    match u {
        0xD800..=0xDBFF => {
            flush_high(out, pending_high);
            *pending_high = Some(u);
        }
        0xDC00..=0xDFFF => match pending_high.take() {
            Some(high) => {
                let c = 0x10000 + ((u32::from(high) - 0xD800) << 10) + (u32::from(u) - 0xDC00);
                out.push(char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER));
            }
            None => out.push(char::REPLACEMENT_CHARACTER),
        },
        _ => {
            flush_high(out, pending_high);
            out.push(char::from_u32(u32::from(u)).unwrap_or(char::REPLACEMENT_CHARACTER));
        }
    }
}

fn flush_high(out: &mut String, pending_high: &mut Option<u16>) {
    if pending_high.take().is_some() {
        out.push(char::REPLACEMENT_CHARACTER);
    }
}

/// Encode a string the way PowerShell's serializer does. Borrows when nothing needs escaping.
pub fn encode(s: &str) -> Cow<'_, str> {
    let needs = |c: char| needs_escape(c) || c == '_';
    if !s.chars().any(needs) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if needs_escape(c) {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.push_str(&format!("_x{:04X}_", u));
            }
        } else if c == '_' && matches!(chars.peek(), Some('x' | 'X')) {
            out.push_str("_x005F_");
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Control characters and characters outside the BMP (written as two surrogates).
fn needs_escape(c: char) -> bool {
    let v = c as u32;
    v <= 0x1F || (0x7F..=0x9F).contains(&v) || v > 0xFFFF
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed() {
        assert!(matches!(decode("Get-Mailbox"), Cow::Borrowed(_)));
        assert!(matches!(encode("Get-Mailbox"), Cow::Borrowed(_)));
    }

    #[test]
    fn decodes_escaped_letter_in_a_cmdlet_name() {
        assert_eq!(decode("New-Journal_x0052_ule"), "New-JournalRule");
    }

    #[test]
    fn decodes_crlf_and_lower_case_x_and_hex() {
        assert_eq!(decode("a_x000D__x000a_b"), "a\r\nb");
        assert_eq!(decode("_X0041_"), "A");
    }

    #[test]
    fn combines_surrogate_pairs() {
        assert_eq!(decode("_xD801__xDC37_"), "\u{10437}");
    }

    #[test]
    fn eight_digit_form_decodes() {
        assert_eq!(decode("_x00010437_"), "\u{10437}");
    }

    #[test]
    fn lone_surrogates_become_replacement() {
        assert_eq!(decode("a_xD801_b"), "a\u{FFFD}b");
        assert_eq!(decode("_xDC37_"), "\u{FFFD}");
        assert_eq!(decode("_xD801_"), "\u{FFFD}");
    }

    #[test]
    fn non_escapes_stay() {
        assert_eq!(decode("a_b"), "a_b");
        assert_eq!(decode("_x12_"), "_x12_");
        assert_eq!(decode("_xZZZZ_"), "_xZZZZ_");
        assert_eq!(decode("trailing_"), "trailing_");
        assert_eq!(decode("_x005F_x0041_"), "_x0041_");
    }

    #[test]
    fn encodes_like_powershell() {
        assert_eq!(encode("a\r\nb"), "a_x000D__x000A_b");
        assert_eq!(encode("_x"), "_x005F_x");
        assert_eq!(encode("a_b"), "a_b");
        assert_eq!(encode("\u{10437}"), "_xD801__xDC37_");
        assert_eq!(encode("\u{85}"), "_x0085_");
    }

    #[test]
    fn encode_then_decode_is_identity() {
        for s in ["", "a_xb", "_x0041_", "x\u{1}y\u{10FFFF}z", "é_X"] {
            assert_eq!(decode(&encode(s)), s, "{s:?}");
        }
    }
}
