//! Requests the gateway itself sends the endpoint: the Signal that ends a command a refusal
//! left behind there (protocol.md §5.1: the endpoint holds a half-built pipeline, or a pipeline
//! waiting for the input the gateway refused).

use super::Envelope;
use quick_xml::escape::escape;

/// The WinRS terminate code, as `wsman.h` spells it (`WSMAN_SIGNAL_SHELL_CODE_TERMINATE`).
pub const SIGNAL_TERMINATE: &str =
    "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/terminate";

/// The Signal action, for a `SOAPAction` header.
pub const ACTION_SIGNAL: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Signal";

/// Used when the client's request did not say (every real client does).
const DEFAULT_RESOURCE_URI: &str = "http://schemas.microsoft.com/powershell/Microsoft.PowerShell";
const DEFAULT_OPERATION_TIMEOUT: &str = "PT60.000S";
/// Plenty for a SignalResponse; the WinRM service's default maximum.
const MAX_ENVELOPE_SIZE: u32 = 512_000;

/// The client's headers a gateway-made request copies, so the endpoint takes it as part of the
/// client's own session.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionHeaders {
    pub to: Option<String>,
    pub resource_uri: Option<String>,
    pub operation_timeout: Option<String>,
    pub session_id: Option<String>,
}

impl SessionHeaders {
    pub fn of(env: &Envelope) -> SessionHeaders {
        SessionHeaders {
            to: env.to.clone(),
            resource_uri: env.resource_uri.clone(),
            operation_timeout: env.operation_timeout.clone(),
            session_id: env.session_id.clone(),
        }
    }
}

/// A Signal `terminate` for `command_id` on `shell_id`, with a new MessageID, laid out like
/// pypsrp's requests. Everything taken from the client is XML-escaped.
pub fn terminate_request(headers: &SessionHeaders, shell_id: &str, command_id: &str) -> String {
    let opt = |name: &str, value: &Option<String>| -> String {
        value
            .as_deref()
            .map(|v| format!("<{name}>{}</{name}>", escape(v)))
            .unwrap_or_default()
    };
    let to = opt("wsa:To", &headers.to);
    let session = headers
        .session_id
        .as_deref()
        .map(|v| {
            format!(
                "<wsmv:SessionId s:mustUnderstand=\"false\">{}</wsmv:SessionId>",
                escape(v)
            )
        })
        .unwrap_or_default();
    let resource = escape(
        headers
            .resource_uri
            .as_deref()
            .unwrap_or(DEFAULT_RESOURCE_URI),
    );
    let timeout = escape(
        headers
            .operation_timeout
            .as_deref()
            .unwrap_or(DEFAULT_OPERATION_TIMEOUT),
    );
    let message_id = uuid::Uuid::new_v4().hyphenated().to_string().to_uppercase();
    format!(
        "<s:Envelope xmlns:rsp=\"http://schemas.microsoft.com/wbem/wsman/1/windows/shell\" \
         xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" \
         xmlns:wsa=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\" \
         xmlns:wsman=\"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd\" \
         xmlns:wsmv=\"http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd\"><s:Header>\
         <wsa:Action s:mustUnderstand=\"true\">{ACTION_SIGNAL}</wsa:Action>\
         <wsmv:DataLocale s:mustUnderstand=\"false\" xml:lang=\"en-US\" />\
         <wsman:Locale s:mustUnderstand=\"false\" xml:lang=\"en-US\" />\
         <wsman:MaxEnvelopeSize s:mustUnderstand=\"true\">{MAX_ENVELOPE_SIZE}</wsman:MaxEnvelopeSize>\
         <wsa:MessageID>uuid:{message_id}</wsa:MessageID>\
         <wsman:OperationTimeout>{timeout}</wsman:OperationTimeout>\
         <wsa:ReplyTo><wsa:Address s:mustUnderstand=\"true\">\
         http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsa:Address></wsa:ReplyTo>\
         <wsman:ResourceURI s:mustUnderstand=\"true\">{resource}</wsman:ResourceURI>\
         {session}{to}\
         <wsman:SelectorSet><wsman:Selector Name=\"ShellId\">{shell}</wsman:Selector></wsman:SelectorSet>\
         </s:Header><s:Body><rsp:Signal CommandId=\"{command}\"><rsp:Code>{SIGNAL_TERMINATE}</rsp:Code>\
         </rsp:Signal></s:Body></s:Envelope>",
        shell = escape(shell_id),
        command = escape(command_id),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspect::xml::XmlLimits;
    use crate::wsman::{parse_request, Action, Body};

    const LIMITS: XmlLimits = XmlLimits {
        max_depth: 64,
        max_attributes: 32,
    };

    fn headers() -> SessionHeaders {
        SessionHeaders {
            to: Some("https://ex01.contoso.local/PowerShell?a=1&b=2".into()),
            resource_uri: Some("http://schemas.microsoft.com/powershell/Microsoft.Exchange".into()),
            operation_timeout: Some("PT20S".into()),
            session_id: Some("uuid:7347921F-7F9F-4B9C-8422-BF47F380F8E3".into()),
        }
    }

    #[test]
    fn the_terminate_request_parses_back_with_the_clients_session_headers() {
        let text = terminate_request(&headers(), "SHELL-1", "CMD-1");
        let env = parse_request(text.as_bytes(), &LIMITS).unwrap();
        assert_eq!(env.action, Action::Signal);
        assert_eq!(env.shell_id.as_deref(), Some("SHELL-1"));
        assert_eq!(
            env.body,
            Body::Signal {
                command_id: Some("CMD-1".into()),
                code: SIGNAL_TERMINATE.into()
            }
        );
        assert_eq!(SessionHeaders::of(&env), headers());
        let id = env.message_id.unwrap();
        assert!(id.starts_with("uuid:") && id.len() == 41, "{id}");
    }

    #[test]
    fn every_request_has_its_own_message_id_and_client_text_is_escaped() {
        let hostile = SessionHeaders {
            to: Some("</wsa:To><evil/>".into()),
            ..SessionHeaders::default()
        };
        let a = terminate_request(&hostile, "S\"", "C<");
        let b = terminate_request(&hostile, "S\"", "C<");
        let (ea, eb) = (
            parse_request(a.as_bytes(), &LIMITS).unwrap(),
            parse_request(b.as_bytes(), &LIMITS).unwrap(),
        );
        assert_ne!(ea.message_id, eb.message_id);
        assert_eq!(ea.to.as_deref(), Some("</wsa:To><evil/>"));
        assert_eq!(ea.shell_id.as_deref(), Some("S\""));
        assert_eq!(ea.resource_uri.as_deref(), Some(DEFAULT_RESOURCE_URI));
        assert_eq!(
            ea.operation_timeout.as_deref(),
            Some(DEFAULT_OPERATION_TIMEOUT)
        );
        assert_eq!(ea.session_id, None);
    }
}
