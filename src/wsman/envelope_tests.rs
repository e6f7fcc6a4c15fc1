use super::*;

const LIMITS: XmlLimits = XmlLimits {
    max_depth: 64,
    max_attributes: 32,
};

const NS: &str = r#"xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:wsman="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell""#;
const SHELL: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/";

fn envelope(action: &str, extra_header: &str, body: &str) -> String {
    format!(
        r#"<s:Envelope {NS}><s:Header><wsa:Action s:mustUnderstand="true">{action}</wsa:Action><wsa:MessageID>uuid:AAAA</wsa:MessageID><wsman:ResourceURI>http://schemas.microsoft.com/powershell/Microsoft.Exchange</wsman:ResourceURI><wsman:SelectorSet><wsman:Selector Name="ShellId">76056A84-51DC-4F24-9262-CA2A55464B2B</wsman:Selector></wsman:SelectorSet>{extra_header}</s:Header><s:Body>{body}</s:Body></s:Envelope>"#
    )
}

fn parse(s: &str) -> Result<Envelope, InspectError> {
    parse_request(s.as_bytes(), &LIMITS)
}

#[test]
fn command_gives_id_and_decoded_arguments() {
    let xml = envelope(
        &format!("{SHELL}Command"),
        "",
        r#"<rsp:CommandLine CommandId="E888E1DF-C962-41D6-BEFD-F2C82D0ABCCA"><rsp:Command>Get-Mailbox</rsp:Command><rsp:Arguments>aGVsbG8=</rsp:Arguments></rsp:CommandLine>"#,
    );
    let env = parse(&xml).unwrap();
    assert_eq!(env.action, Action::Command);
    assert_eq!(env.message_id.as_deref(), Some("uuid:AAAA"));
    assert_eq!(
        env.shell_id.as_deref(),
        Some("76056A84-51DC-4F24-9262-CA2A55464B2B")
    );
    assert_eq!(
        env.body,
        Body::Command {
            command_id: Some("E888E1DF-C962-41D6-BEFD-F2C82D0ABCCA".into()),
            arguments: Some(b"hello".to_vec()),
        }
    );
}

#[test]
fn create_gives_shell_id_creation_xml_compression_and_options() {
    let xml = envelope(
        "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create",
        r#"<wsman:OptionSet><wsman:Option Name="protocolversion" MustComply="true">2.3</wsman:Option></wsman:OptionSet><rsp:CompressionType s:mustUnderstand="true">xpress</rsp:CompressionType>"#,
        r#"<rsp:Shell ShellId="11AC8B01-5D0D-4A44-98F4-64E68FDEFB1F"><rsp:InputStreams>stdin pr</rsp:InputStreams><creationXml xmlns="http://schemas.microsoft.com/powershell">AQID</creationXml></rsp:Shell>"#,
    );
    let env = parse(&xml).unwrap();
    assert_eq!(env.action, Action::Create);
    assert_eq!(env.compression.as_deref(), Some("xpress"));
    assert_eq!(
        env.options,
        vec![("protocolversion".to_string(), "2.3".to_string())]
    );
    assert_eq!(
        env.body,
        Body::Create {
            shell_id: Some("11AC8B01-5D0D-4A44-98F4-64E68FDEFB1F".into()),
            creation_xml: Some(vec![1, 2, 3]),
        }
    );
}

#[test]
fn send_gives_every_stream() {
    let xml = envelope(
        &format!("{SHELL}Send"),
        "",
        r#"<rsp:Send><rsp:Stream Name="stdin" CommandId="C1">AQ==</rsp:Stream><rsp:Stream Name="pr" End="true">Ag==</rsp:Stream></rsp:Send>"#,
    );
    let Body::Send { streams } = parse(&xml).unwrap().body else {
        panic!("not a send")
    };
    assert_eq!(streams.len(), 2);
    assert_eq!(streams[0].command_id.as_deref(), Some("C1"));
    assert_eq!(streams[0].data, vec![1]);
    assert!(!streams[0].end);
    assert_eq!(streams[1].name, "pr");
    assert!(streams[1].end);
    assert_eq!(streams[1].command_id, None);
}

#[test]
fn receive_and_signal_bodies() {
    let xml = envelope(
        &format!("{SHELL}Receive"),
        "",
        r#"<rsp:Receive SequenceId="0"><rsp:DesiredStream CommandId="C1">stdout</rsp:DesiredStream></rsp:Receive>"#,
    );
    let Body::Receive { streams } = parse(&xml).unwrap().body else {
        panic!("not a receive")
    };
    assert_eq!(streams[0].streams, "stdout");
    assert_eq!(streams[0].command_id.as_deref(), Some("C1"));

    let xml = envelope(
        &format!("{SHELL}Signal"),
        "",
        r#"<rsp:Signal CommandId="C1"><rsp:Code>powershell/signal/crtl_c</rsp:Code></rsp:Signal>"#,
    );
    assert_eq!(
        parse(&xml).unwrap().body,
        Body::Signal {
            command_id: Some("C1".into()),
            code: "powershell/signal/crtl_c".into()
        }
    );
}

#[test]
fn delete_has_no_body() {
    let xml = envelope(
        "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete",
        "",
        "",
    );
    let env = parse(&xml).unwrap();
    assert_eq!(env.action, Action::Delete);
    assert_eq!(env.body, Body::None);
}

#[test]
fn prefixes_do_not_matter_only_uris() {
    let xml = format!(
        r#"<E:Envelope xmlns:E="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing"><E:Header><a:Action>{SHELL}Command</a:Action></E:Header><E:Body><x:CommandLine xmlns:x="http://schemas.microsoft.com/wbem/wsman/1/windows/shell" CommandId="C"><x:Arguments>AQ==</x:Arguments></x:CommandLine></E:Body></E:Envelope>"#
    );
    let env = parse(&xml).unwrap();
    assert_eq!(
        env.body,
        Body::Command {
            command_id: Some("C".into()),
            arguments: Some(vec![1])
        }
    );
}

#[test]
fn namespace_prefix_game_familiar_prefix_wrong_uri_is_not_read() {
    // `rsp:` bound to a different URI: the CommandLine is not the shell's, so the Command has no body.
    let xml = format!(
        r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:rsp="urn:evil"><s:Header><wsa:Action>{SHELL}Command</wsa:Action></s:Header><s:Body><rsp:CommandLine CommandId="C"><rsp:Arguments>AQ==</rsp:Arguments></rsp:CommandLine></s:Body></s:Envelope>"#
    );
    let e = parse(&xml).unwrap_err();
    assert!(e.to_string().contains("needs body element"), "{e}");
}

#[test]
fn namespace_prefix_game_redefined_prefix_in_body_is_followed() {
    // The prefix `wsa` is rebound inside the body to the shell namespace: the URI decides.
    let xml = format!(
        r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing"><s:Header><wsa:Action>{SHELL}Command</wsa:Action></s:Header><s:Body xmlns:wsa="http://schemas.microsoft.com/wbem/wsman/1/windows/shell"><wsa:CommandLine CommandId="C"><wsa:Arguments>AQ==</wsa:Arguments></wsa:CommandLine></s:Body></s:Envelope>"#
    );
    assert!(matches!(parse(&xml).unwrap().body, Body::Command { .. }));
}

#[test]
fn duplicate_action_is_refused() {
    let xml = envelope(
        &format!("{SHELL}Receive"),
        &format!("<wsa:Action>{SHELL}Command</wsa:Action>"),
        "",
    );
    assert!(parse(&xml)
        .unwrap_err()
        .to_string()
        .contains("Action: given twice"));
}

#[test]
fn duplicate_arguments_are_refused() {
    let xml = envelope(
        &format!("{SHELL}Command"),
        "",
        r#"<rsp:CommandLine CommandId="C"><rsp:Arguments>AQ==</rsp:Arguments><rsp:Arguments>Ag==</rsp:Arguments></rsp:CommandLine>"#,
    );
    assert!(parse(&xml).unwrap_err().to_string().contains("given twice"));
}

#[test]
fn duplicate_shell_id_selector_is_refused() {
    let xml = envelope(
        &format!("{SHELL}Receive"),
        r#"<wsman:SelectorSet><wsman:Selector Name="ShellId">OTHER</wsman:Selector></wsman:SelectorSet>"#,
        "",
    );
    assert!(parse(&xml).unwrap_err().to_string().contains("ShellId"));
}

#[test]
fn duplicate_session_headers_are_refused() {
    let ns = r#"xmlns:wsmv="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd""#;
    let twice = format!(
        r#"<wsmv:SessionId {ns}>uuid:A</wsmv:SessionId><wsmv:SessionId {ns}>uuid:B</wsmv:SessionId>"#
    );
    let xml = envelope(&format!("{SHELL}Receive"), &twice, "");
    assert!(parse(&xml).unwrap_err().to_string().contains("SessionId"));
    let twice = "<wsman:OperationTimeout>PT1S</wsman:OperationTimeout><wsman:OperationTimeout>PT2S</wsman:OperationTimeout>";
    let xml = envelope(&format!("{SHELL}Receive"), twice, "");
    assert!(parse(&xml)
        .unwrap_err()
        .to_string()
        .contains("OperationTimeout"));
}

#[test]
fn payload_body_under_another_action_is_refused() {
    let xml = envelope(
        &format!("{SHELL}Receive"),
        "",
        r#"<rsp:CommandLine CommandId="C"><rsp:Arguments>AQ==</rsp:Arguments></rsp:CommandLine>"#,
    );
    assert!(parse(&xml).is_err());
}

#[test]
fn misplaced_arguments_are_refused() {
    let xml = envelope(
        &format!("{SHELL}Command"),
        "",
        r#"<rsp:CommandLine CommandId="C"><x><rsp:Arguments>AQ==</rsp:Arguments></x></rsp:CommandLine>"#,
    );
    assert!(parse(&xml)
        .unwrap_err()
        .to_string()
        .contains("outside its place"));
}

#[test]
fn two_operation_elements_are_refused() {
    let xml = envelope(
        &format!("{SHELL}Command"),
        "",
        r#"<rsp:CommandLine CommandId="C"/><rsp:CommandLine CommandId="D"/>"#,
    );
    assert!(parse(&xml).is_err());
}

#[test]
fn attribute_with_two_prefixes_is_refused() {
    let xml = envelope(
        &format!("{SHELL}Command"),
        "",
        r#"<rsp:CommandLine CommandId="C" rsp:CommandId="D"><rsp:Arguments>AQ==</rsp:Arguments></rsp:CommandLine>"#,
    );
    assert!(parse(&xml).unwrap_err().to_string().contains("twice"));
}

#[test]
fn doctype_is_refused() {
    let xml = format!(
        "<!DOCTYPE x [<!ENTITY a \"b\">]>{}",
        envelope(&format!("{SHELL}Receive"), "", "")
    );
    assert!(parse(&xml).unwrap_err().to_string().contains("DOCTYPE"));
}

#[test]
fn entities_in_text_are_resolved() {
    let xml = envelope(
        &format!("{SHELL}Receive"),
        "<wsa:To>https://h/wsman?a=1&amp;b=2</wsa:To>",
        "",
    );
    assert_eq!(
        parse(&xml).unwrap().to.as_deref(),
        Some("https://h/wsman?a=1&b=2")
    );
}

#[test]
fn base64_with_line_breaks_decodes_and_bad_base64_names_the_layer() {
    let xml = envelope(
        &format!("{SHELL}Command"),
        "",
        "<rsp:CommandLine CommandId=\"C\"><rsp:Arguments>aGVs\r\nbG8=</rsp:Arguments></rsp:CommandLine>",
    );
    assert!(
        matches!(parse(&xml).unwrap().body, Body::Command { arguments: Some(a), .. } if a == b"hello")
    );
    let xml = envelope(
        &format!("{SHELL}Command"),
        "",
        "<rsp:CommandLine CommandId=\"C\"><rsp:Arguments>!!!</rsp:Arguments></rsp:CommandLine>",
    );
    assert!(parse(&xml)
        .unwrap_err()
        .to_string()
        .starts_with("base64 layer"));
}

#[test]
fn truncated_document_is_refused() {
    let xml = envelope(&format!("{SHELL}Receive"), "", "");
    let cut = &xml[..xml.len() - 20];
    assert!(parse(cut).is_err());
}

#[test]
fn not_an_envelope_is_refused() {
    assert!(parse("<a/>").unwrap_err().to_string().contains("SOAP 1.2"));
    assert!(parse("").is_err());
}

#[test]
fn depth_limit_at_its_edge() {
    // Envelope(1) Body(2) then nested <x> elements.
    let nest = |n: usize| {
        let body = format!("{}{}", "<x>".repeat(n), "</x>".repeat(n));
        envelope(
            "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete",
            "",
            &body,
        )
    };
    let limits = XmlLimits {
        max_depth: 10,
        max_attributes: 32,
    };
    assert!(parse_request(nest(8).as_bytes(), &limits).is_ok());
    let e = parse_request(nest(9).as_bytes(), &limits).unwrap_err();
    assert_eq!(e.limit_name(), Some("max_xml_depth"));
}

#[test]
fn attribute_limit_at_its_edge() {
    let limits = XmlLimits {
        max_depth: 64,
        max_attributes: 5,
    };
    let with = |n: usize| {
        let attrs: String = (0..n).map(|i| format!(" a{i}=\"v\"")).collect();
        envelope(
            "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete",
            "",
            &format!("<x{attrs}/>"),
        )
    };
    assert!(parse_request(with(5).as_bytes(), &limits).is_ok());
    let e = parse_request(with(6).as_bytes(), &limits).unwrap_err();
    assert_eq!(e.limit_name(), Some("max_xml_attributes"));
}

#[test]
fn real_captures_parse() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/vectors");
    let Ok(text) = std::fs::read_to_string(dir.join("test_psrp_multiple_commands.yml")) else {
        return;
    };
    let mut commands = 0;
    for line in text.lines() {
        let Some(req) = line.trim_start().strip_prefix("- request: ") else {
            continue;
        };
        let env = parse(req).unwrap();
        // Kept so a request the gateway makes can carry the client's session headers.
        assert_eq!(env.operation_timeout.as_deref(), Some("PT20S"));
        assert_eq!(
            env.session_id.as_deref(),
            Some("uuid:7347921F-7F9F-4B9C-8422-BF47F380F8E3")
        );
        if env.action == Action::Command {
            commands += 1;
        }
    }
    assert!(commands > 0);
}
