//! WS-Management SOAP faults (protocol.md §5.1): HTTP 500, `application/soap+xml`, the same
//! text in `s:Reason/s:Text` (pywinrm shows it) and `WSManFault/Message` (pypsrp, PowerShell).
//!
//! A fault answering a Command (or the Send that completes a pipeline) fails that pipeline
//! only; the runspace pool stays usable. Fault codes PowerShell special-cases (2150858843
//! tears the session down; others retry or redirect) are never used.

use super::{clean_text, response, throttle_text, RefusalResponse};
use crate::policy::Throttle;
use quick_xml::escape::escape;

/// ERROR_ACCESS_DENIED: policy refusals (PowerShell maps it to its AccessDenied error id).
pub const FAULT_CODE_ACCESS_DENIED: u32 = 5;
/// ERROR_INVALID_DATA: a request the gateway cannot read (inspection errors, fail closed).
pub const FAULT_CODE_INVALID_DATA: u32 = 13;
/// ERROR_NOT_ENOUGH_QUOTA: a rate limit. A plain Win32 code that neither PowerShell nor pypsrp
/// special-cases (no retry, no session teardown); pypsrp shows it as `Code: 1816`.
pub const FAULT_CODE_QUOTA: u32 = 1816;

/// What a fault needs from the request it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WinrmReply {
    /// The request's `a:MessageID` (e.g. `uuid:...`), echoed as `a:RelatesTo`; `None` when the
    /// request had none (or could not be read), and the element is left out.
    pub relates_to: Option<String>,
    /// The `Machine` attribute clients print: the gateway's host name.
    pub machine: String,
}

/// A policy refusal: subcode `w:AccessDenied`, code 5.
pub fn winrm_access_denied(reply: &WinrmReply, text: &str) -> RefusalResponse {
    fault(reply, "w:AccessDenied", FAULT_CODE_ACCESS_DENIED, text)
}

/// A rate-limit refusal: subcode `w:QuotaLimit`, code 1816, the rule and when to retry.
pub fn winrm_throttled(reply: &WinrmReply, throttle: &Throttle) -> RefusalResponse {
    fault(
        reply,
        "w:QuotaLimit",
        FAULT_CODE_QUOTA,
        &throttle_text(throttle),
    )
}

/// A request the gateway cannot read, refused on an enforced endpoint: code 13.
pub fn winrm_inspection_fault(reply: &WinrmReply, text: &str) -> RefusalResponse {
    fault(reply, "w:AccessDenied", FAULT_CODE_INVALID_DATA, text)
}

fn fault(reply: &WinrmReply, subcode: &str, code: u32, text: &str) -> RefusalResponse {
    let body = envelope(reply, subcode, code, text);
    response(
        http::StatusCode::INTERNAL_SERVER_ERROR,
        "application/soap+xml;charset=UTF-8",
        body,
    )
}

/// The fault envelope. Every client-influenced value is cleaned and XML-escaped.
pub(crate) fn envelope(reply: &WinrmReply, subcode: &str, code: u32, text: &str) -> String {
    let text = clean_text(text);
    let text = escape(text.as_str());
    let machine = clean_text(&reply.machine);
    let machine = escape(machine.as_str());
    let message_id = uuid::Uuid::new_v4().to_string().to_uppercase();
    let relates_to = match &reply.relates_to {
        Some(id) => format!(
            "<a:RelatesTo>{}</a:RelatesTo>",
            escape(clean_text(id).as_str())
        ),
        None => String::new(),
    };
    format!(
        concat!(
            r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" "#,
            r#"xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" "#,
            r#"xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xml:lang="en-US">"#,
            r#"<s:Header><a:Action>http://schemas.dmtf.org/wbem/wsman/1/wsman/fault</a:Action>"#,
            r#"<a:MessageID>uuid:{message_id}</a:MessageID>"#,
            r#"<a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To>"#,
            r#"{relates_to}</s:Header><s:Body><s:Fault>"#,
            r#"<s:Code><s:Value>s:Sender</s:Value><s:Subcode><s:Value>{subcode}</s:Value></s:Subcode></s:Code>"#,
            r#"<s:Reason><s:Text xml:lang="en-US">{text}</s:Text></s:Reason>"#,
            r#"<s:Detail><f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" "#,
            r#"Code="{code}" Machine="{machine}"><f:Message>{text}</f:Message></f:WSManFault>"#,
            r#"</s:Detail></s:Fault></s:Body></s:Envelope>"#
        ),
        message_id = message_id,
        relates_to = relates_to,
        subcode = subcode,
        text = text,
        code = code,
        machine = machine,
    )
}

/// A local `SignalResponse` (HTTP 200), for a Signal naming a command the gateway refused and
/// never forwarded: the endpoint never saw that CommandId, and a forwarded Signal would draw
/// fault 2150858843, which makes PowerShell tear the whole session down (protocol.md §5.2).
pub fn winrm_signal_response(reply: &WinrmReply) -> RefusalResponse {
    let message_id = uuid::Uuid::new_v4().to_string().to_uppercase();
    let relates_to = match &reply.relates_to {
        Some(id) => format!(
            "<a:RelatesTo>{}</a:RelatesTo>",
            escape(clean_text(id).as_str())
        ),
        None => String::new(),
    };
    let body = format!(
        concat!(
            r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" "#,
            r#"xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" "#,
            r#"xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell" xml:lang="en-US">"#,
            r#"<s:Header><a:Action>http://schemas.microsoft.com/wbem/wsman/1/windows/shell/SignalResponse</a:Action>"#,
            r#"<a:MessageID>uuid:{message_id}</a:MessageID>"#,
            r#"<a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To>"#,
            r#"{relates_to}</s:Header><s:Body><rsp:SignalResponse/></s:Body></s:Envelope>"#
        ),
        message_id = message_id,
        relates_to = relates_to,
    );
    response(
        http::StatusCode::OK,
        "application/soap+xml;charset=UTF-8",
        body,
    )
}
