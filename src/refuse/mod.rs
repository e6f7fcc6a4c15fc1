//! Refusals in the protocol's own error shape, so every client shows the gateway's message
//! cleanly: a WS-Management SOAP fault for WinRM (protocol.md §5.1), an OData error for the
//! REST admin API (§6.6).
//!
//! The message text comes from `decide()` (a [`crate::policy::Denial`]'s `reason`) or from
//! the inspector's error; the builders here only wrap it, escape it and pick the status.

mod rest;
mod winrm;

pub use rest::{rest_bad_request, rest_forbidden, rest_throttled};
pub use winrm::{
    winrm_access_denied, winrm_inspection_fault, winrm_signal_response, winrm_throttled,
    WinrmReply, FAULT_CODE_ACCESS_DENIED, FAULT_CODE_INVALID_DATA, FAULT_CODE_QUOTA,
};

use crate::policy::Throttle;
use bytes::Bytes;
use http_body_util::Full;

/// A refusal response, ready to send.
pub type RefusalResponse = http::Response<Full<Bytes>>;

/// The user-facing text of a throttle: which rule, and when to try again.
pub fn throttle_text(t: &Throttle) -> String {
    let secs = retry_after_secs(t.retry_after_ms);
    let unit = if secs == 1 { "second" } else { "seconds" };
    format!(
        "Too many requests: the gateway's rate limit \"{}\" was reached. Retry after {secs} {unit}.",
        clean_text(&t.rule)
    )
}

/// Whole seconds to wait, rounded up, at least 1 (HTTP `Retry-After` has second precision).
pub fn retry_after_secs(ms: u64) -> u64 {
    ms.div_ceil(1000).max(1)
}

/// Text as it may appear in XML 1.0 and in one line of a client's error: characters XML 1.0
/// forbids (most C0 controls, U+FFFE, U+FFFF) and line breaks become spaces, so a hostile
/// cmdlet name cannot make the fault ill-formed or spoof extra lines.
pub fn clean_text(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\t' => ' ',
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => ' ',
            c if ('\u{7F}'..='\u{9F}').contains(&c) => ' ',
            c => c,
        })
        .collect()
}

fn set_header(resp: &mut RefusalResponse, name: &'static str, value: &str) {
    if let Ok(v) = http::HeaderValue::from_str(value) {
        resp.headers_mut()
            .insert(http::HeaderName::from_static(name), v);
    }
}

fn response(status: http::StatusCode, content_type: &str, body: String) -> RefusalResponse {
    let mut resp = http::Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    set_header(&mut resp, "content-type", content_type);
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_and_line_breaks_are_flattened() {
        assert_eq!(clean_text("a\u{0}b\r\nc\td\u{FFFF}\u{85}"), "a b  c d  ");
        assert_eq!(clean_text("Blocked: ü & <x>"), "Blocked: ü & <x>");
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_secs(0), 1);
        assert_eq!(retry_after_secs(1), 1);
        assert_eq!(retry_after_secs(1000), 1);
        assert_eq!(retry_after_secs(1001), 2);
    }

    #[test]
    fn throttle_text_names_rule_and_wait() {
        let t = Throttle {
            rule: "per-user".into(),
            retry_after_ms: 2500,
        };
        assert_eq!(
            throttle_text(&t),
            "Too many requests: the gateway's rate limit \"per-user\" was reached. Retry after 3 seconds."
        );
    }
}
