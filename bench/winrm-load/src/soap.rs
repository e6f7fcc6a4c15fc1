//! WS-Management envelopes for the shell operations a PowerShell client uses (MS-WSMV; the
//! header layout pypsrp sends), and the little a load client reads back from the responses.

use base64::Engine;

const NS: &str = concat!(
    r#"xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell" "#,
    r#"xmlns:s="http://www.w3.org/2003/05/soap-envelope" "#,
    r#"xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" "#,
    r#"xmlns:wsman="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" "#,
    r#"xmlns:wsmv="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd""#
);
const RESOURCE: &str = "http://schemas.microsoft.com/powershell/Microsoft.Exchange";
const SHELL: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell";
const TRANSFER: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer";

/// What every envelope of one shell shares.
pub struct Session {
    /// `wsa:To`: the URL the client believes it talks to.
    pub to: String,
    /// `wsmv:SessionId`, stable for the client session.
    pub session_id: String,
}

impl Session {
    fn envelope(&self, action: &str, shell_id: Option<&str>, options: &str, body: &str) -> String {
        let selector = shell_id.map_or(String::new(), |id| {
            format!(r#"<wsman:SelectorSet><wsman:Selector Name="ShellId">{id}</wsman:Selector></wsman:SelectorSet>"#)
        });
        format!(
            concat!(
                r#"<s:Envelope {ns}><s:Header>"#,
                r#"<wsa:Action s:mustUnderstand="true">{action}</wsa:Action>"#,
                r#"<wsmv:DataLocale s:mustUnderstand="false" xml:lang="en-US" />"#,
                r#"<wsman:Locale s:mustUnderstand="false" xml:lang="en-US" />"#,
                r#"<wsman:MaxEnvelopeSize s:mustUnderstand="true">153600</wsman:MaxEnvelopeSize>"#,
                r#"<wsa:MessageID>uuid:{mid}</wsa:MessageID>"#,
                r#"<wsman:OperationTimeout>PT20S</wsman:OperationTimeout>"#,
                r#"<wsa:ReplyTo><wsa:Address s:mustUnderstand="true">http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsa:Address></wsa:ReplyTo>"#,
                r#"<wsman:ResourceURI s:mustUnderstand="true">{resource}</wsman:ResourceURI>"#,
                r#"<wsmv:SessionId s:mustUnderstand="false">uuid:{sid}</wsmv:SessionId>"#,
                r#"<wsa:To>{to}</wsa:To>{options}{selector}</s:Header><s:Body>{body}</s:Body></s:Envelope>"#
            ),
            ns = NS,
            action = action,
            mid = upper_uuid(),
            resource = RESOURCE,
            sid = self.session_id,
            to = self.to,
            options = options,
            selector = selector,
            body = body,
        )
    }

    pub fn create(&self, shell_id: &str, creation_xml: &str) -> String {
        let options = r#"<wsman:OptionSet s:mustUnderstand="true"><wsman:Option MustComply="true" Name="protocolversion">2.3</wsman:Option></wsman:OptionSet>"#;
        let body = format!(
            r#"<rsp:Shell ShellId="{shell_id}"><rsp:InputStreams>stdin pr</rsp:InputStreams><rsp:OutputStreams>stdout</rsp:OutputStreams><creationXml xmlns="http://schemas.microsoft.com/powershell">{creation_xml}</creationXml></rsp:Shell>"#
        );
        self.envelope(&format!("{TRANSFER}/Create"), None, options, &body)
    }

    pub fn command(&self, shell_id: &str, command_id: &str, arguments: &str) -> String {
        let options = r#"<wsman:OptionSet s:mustUnderstand="true"><wsman:Option Name="WINRS_SKIP_CMD_SHELL">False</wsman:Option></wsman:OptionSet>"#;
        let body = format!(
            r#"<rsp:CommandLine CommandId="{command_id}"><rsp:Command /><rsp:Arguments>{arguments}</rsp:Arguments></rsp:CommandLine>"#
        );
        self.envelope(&format!("{SHELL}/Command"), Some(shell_id), options, &body)
    }

    /// Receive for the pool (`command_id` None) or one pipeline.
    pub fn receive(&self, shell_id: &str, command_id: Option<&str>) -> String {
        let options = r#"<wsman:OptionSet s:mustUnderstand="true"><wsman:Option Name="WSMAN_CMDSHELL_OPTION_KEEPALIVE">True</wsman:Option></wsman:OptionSet>"#;
        let attr = command_id.map_or(String::new(), |id| format!(r#" CommandId="{id}""#));
        let body = format!(
            r#"<rsp:Receive><rsp:DesiredStream{attr}>stdout</rsp:DesiredStream></rsp:Receive>"#
        );
        self.envelope(&format!("{SHELL}/Receive"), Some(shell_id), options, &body)
    }

    pub fn signal_terminate(&self, shell_id: &str, command_id: &str) -> String {
        let body = format!(
            r#"<rsp:Signal CommandId="{command_id}"><rsp:Code>powershell/signal/crtl_c</rsp:Code></rsp:Signal>"#
        );
        self.envelope(&format!("{SHELL}/Signal"), Some(shell_id), "", &body)
    }

    pub fn delete(&self, shell_id: &str) -> String {
        self.envelope(&format!("{TRANSFER}/Delete"), Some(shell_id), "", "")
    }
}

/// An upper-case GUID, as Windows clients write them.
pub fn upper_uuid() -> String {
    uuid::Uuid::new_v4().to_string().to_ascii_uppercase()
}

/// The base64-decoded contents of every `Stream` element in a ReceiveResponse, whatever the
/// namespace prefix.
pub fn streams(response: &str) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = response;
    while let Some(at) = rest.find("Stream ") {
        rest = &rest[at + "Stream ".len()..];
        let (Some(gt), Some(lt)) = (rest.find('>'), rest.find('<')) else {
            break;
        };
        if gt > lt || rest[..gt].ends_with('/') {
            continue;
        }
        let text = rest[gt + 1..].split('<').next().unwrap_or("");
        if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(text.trim()) {
            out.push(bytes);
        }
    }
    out
}

/// Whether a ReceiveResponse reports the command finished.
pub fn command_done(response: &str) -> bool {
    response.contains("CommandState/Done")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_decodes_each_stream_whatever_the_prefix() {
        let r = r#"<a:ReceiveResponse><rsp:Stream Name="stdout" CommandId="X">AQI=</rsp:Stream><w:Stream Name="stdout">AwQ=</w:Stream><rsp:Stream Name="stdout"/></a:ReceiveResponse>"#;
        assert_eq!(streams(r), vec![vec![1, 2], vec![3, 4]]);
    }

    #[test]
    fn command_envelope_carries_ids_and_arguments() {
        let s = Session {
            to: "https://gw/wsman".into(),
            session_id: "S".into(),
        };
        let e = s.command("SHELL", "CMD", "QUJD");
        assert!(e.contains(r#"<wsman:Selector Name="ShellId">SHELL</wsman:Selector>"#));
        assert!(e.contains(r#"<rsp:CommandLine CommandId="CMD">"#));
        assert!(e.contains("<rsp:Arguments>QUJD</rsp:Arguments>"));
        assert!(e.contains("/windows/shell/Command</wsa:Action>"));
    }
}

/// The ShellId the server assigned in a CreateResponse (`Selector Name="ShellId"`), if any.
pub fn created_shell_id(response: &str) -> Option<String> {
    let key = r#"Name="ShellId">"#;
    let at = response.find(key)? + key.len();
    let id = response[at..].split('<').next()?.trim();
    (!id.is_empty()).then(|| id.to_string())
}

#[cfg(test)]
mod created_tests {
    #[test]
    fn created_shell_id_reads_the_selector() {
        let r =
            r#"<w:SelectorSet><w:Selector Name="ShellId">11AC8B01</w:Selector></w:SelectorSet>"#;
        assert_eq!(super::created_shell_id(r).as_deref(), Some("11AC8B01"));
        assert_eq!(super::created_shell_id("<x/>"), None);
    }
}
