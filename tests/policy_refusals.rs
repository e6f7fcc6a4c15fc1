//! Refusal bodies parsed back the way clients read them: the SOAP fault is well-formed, carries
//! the text in both places pypsrp and pywinrm read, and has the shape of the reference fault;
//! the OData errors carry the `id|type|text` detail and the right status and headers.

use http_body_util::BodyExt;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;
use runspace_gateway::policy::Throttle;
use runspace_gateway::refuse::{self, RefusalResponse, WinrmReply};
use std::collections::HashMap;

const SOAP: &str = "http://www.w3.org/2003/05/soap-envelope";
const ADDRESSING: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing";
const WSMAN_FAULT: &str = "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault";

/// Text content by `namespace-uri|local-name`, plus the element paths and WSManFault attributes.
#[derive(Debug, Default)]
struct Parsed {
    text: HashMap<String, String>,
    paths: Vec<String>,
    fault_attrs: HashMap<String, String>,
}

fn parse(xml: &str) -> Parsed {
    let mut reader = NsReader::from_str(xml);
    let mut out = Parsed::default();
    let mut stack: Vec<String> = Vec::new();
    loop {
        let (ns, event) = reader.read_resolved_event().expect("well-formed XML");
        let ns = match ns {
            ResolveResult::Bound(n) => String::from_utf8_lossy(n.as_ref()).into_owned(),
            _ => String::new(),
        };
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let local = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if local == "WSManFault" {
                    for a in e.attributes() {
                        let a = a.expect("attribute");
                        let key = String::from_utf8_lossy(a.key.as_ref()).into_owned();
                        out.fault_attrs.insert(
                            key,
                            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                                .expect("value")
                                .into_owned(),
                        );
                    }
                }
                stack.push(format!("{ns}|{local}"));
                out.paths.push(stack.join("/"));
                if matches!(event, Event::Empty(_)) {
                    stack.pop();
                }
            }
            Event::End(_) => {
                stack.pop();
            }
            Event::Text(t) => {
                let key = stack.last().cloned().unwrap_or_default();
                out.text
                    .entry(key)
                    .or_default()
                    .push_str(&t.decode().expect("utf-8"));
            }
            Event::GeneralRef(r) => {
                let key = stack.last().cloned().unwrap_or_default();
                let s = match r.resolve_char_ref().expect("char ref") {
                    Some(c) => c.to_string(),
                    None => match &*r.decode().expect("utf-8") {
                        "lt" => "<".into(),
                        "gt" => ">".into(),
                        "amp" => "&".into(),
                        "apos" => "'".into(),
                        "quot" => "\"".into(),
                        other => panic!("unknown entity {other}"),
                    },
                };
                out.text.entry(key).or_default().push_str(&s);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert!(stack.is_empty(), "unclosed elements: {stack:?}");
    out
}

async fn body(resp: RefusalResponse) -> (http::response::Parts, String) {
    let (parts, body) = resp.into_parts();
    let bytes = body.collect().await.expect("full body").to_bytes();
    (parts, String::from_utf8(bytes.to_vec()).expect("utf-8"))
}

fn reply() -> WinrmReply {
    WinrmReply {
        relates_to: Some("uuid:33F73386-601E-4073-88CA-D6B4488228F9".into()),
        machine: "gateway.example.net".into(),
    }
}

const TEXT: &str = "New-JournalRule requires approval (policy C-1, approvers pam-approvers). \
                    Request it with: runspace-gateway request new --task New-JournalRule \
                    --reason \"...\" --hours 4";

#[tokio::test]
async fn access_denied_fault_is_well_formed_and_carries_the_text_twice() {
    let (parts, xml) = body(refuse::winrm_access_denied(&reply(), TEXT)).await;
    assert_eq!(parts.status, 500);
    assert_eq!(
        parts.headers["content-type"],
        "application/soap+xml;charset=UTF-8"
    );
    let p = parse(&xml);
    assert_eq!(p.text[&format!("{SOAP}|Text")], TEXT);
    assert_eq!(p.text[&format!("{WSMAN_FAULT}|Message")], TEXT);
    assert_eq!(
        p.text[&format!("{ADDRESSING}|RelatesTo")],
        "uuid:33F73386-601E-4073-88CA-D6B4488228F9"
    );
    assert_eq!(
        p.text[&format!("{ADDRESSING}|Action")],
        "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault"
    );
    assert_eq!(p.text[&format!("{SOAP}|Value")], "s:Senderw:AccessDenied");
    assert_eq!(p.fault_attrs["Code"], "5");
    assert_eq!(p.fault_attrs["Machine"], "gateway.example.net");
    let id = &p.text[&format!("{ADDRESSING}|MessageID")];
    assert!(
        id.starts_with("uuid:") && uuid::Uuid::parse_str(&id[5..]).is_ok(),
        "{id}"
    );
}

#[tokio::test]
async fn fault_has_the_shape_of_the_reference_fault() {
    let vectors = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/vectors");
    let reference = std::fs::read_to_string(vectors.join("synth_block_fault.xml"))
        .expect("shared/vectors/synth_block_fault.xml beside the project");
    let (_, ours) = body(refuse::winrm_access_denied(&reply(), TEXT)).await;
    assert_eq!(parse(&ours).paths, parse(&reference).paths);
}

#[tokio::test]
async fn hostile_text_is_escaped_and_flattened() {
    let evil = "Remove-Mailbox</f:Message><x a=\"1\">&amp; ]]> \u{0}\u{1}\r\nSecond line 'q'";
    let reply = WinrmReply {
        relates_to: Some("uuid:<&>".into()),
        machine: "gw\"&<".into(),
    };
    let (_, xml) = body(refuse::winrm_access_denied(&reply, evil)).await;
    let p = parse(&xml);
    let expected = "Remove-Mailbox</f:Message><x a=\"1\">&amp; ]]>     Second line 'q'";
    assert_eq!(p.text[&format!("{SOAP}|Text")], expected);
    assert_eq!(p.text[&format!("{WSMAN_FAULT}|Message")], expected);
    assert_eq!(p.fault_attrs["Machine"], "gw\"&<");
    assert_eq!(p.text[&format!("{ADDRESSING}|RelatesTo")], "uuid:<&>");
}

#[tokio::test]
async fn relates_to_is_left_out_when_the_request_had_no_message_id() {
    let reply = WinrmReply {
        relates_to: None,
        machine: "gw".into(),
    };
    let (_, xml) = body(refuse::winrm_inspection_fault(&reply, "cannot read")).await;
    let p = parse(&xml);
    assert!(!p.paths.iter().any(|x| x.ends_with("|RelatesTo")));
    assert_eq!(p.fault_attrs["Code"], "13");
    assert_eq!(p.text[&format!("{WSMAN_FAULT}|Message")], "cannot read");
}

#[tokio::test]
async fn throttle_fault_names_the_rule_and_the_wait_with_a_safe_code() {
    let t = Throttle {
        rule: "per-user".into(),
        retry_after_ms: 1_200,
    };
    let (parts, xml) = body(refuse::winrm_throttled(&reply(), &t)).await;
    assert_eq!(parts.status, 500);
    let p = parse(&xml);
    let msg = &p.text[&format!("{WSMAN_FAULT}|Message")];
    assert!(
        msg.contains("\"per-user\"") && msg.contains("Retry after 2 seconds"),
        "{msg}"
    );
    let code: u64 = p.fault_attrs["Code"].parse().unwrap();
    // PowerShell special-cases these (protocol.md §5.1): never use them.
    for avoid in [
        2150858843, 2150858793, 2150859161, 2150858811, 2150858754, 2150858770, 2150859046,
    ] {
        assert_ne!(code, avoid);
    }
    assert_eq!(code, 1816);
}

fn detail(json: &serde_json::Value) -> (&str, &str, &str) {
    let d = &json["error"]["details"][0];
    (
        d["code"].as_str().unwrap(),
        d["target"].as_str().unwrap(),
        d["message"].as_str().unwrap(),
    )
}

#[tokio::test]
async fn rest_forbidden_is_an_odata_error_with_the_gateway_detail() {
    let (parts, text) = body(refuse::rest_forbidden("New-JournalRule", TEXT)).await;
    assert_eq!(parts.status, 403);
    assert_eq!(
        parts.headers["content-type"],
        "application/json;odata.metadata=minimal;charset=utf-8"
    );
    assert_eq!(parts.headers["x-exceptiontype"], "GatewayPolicyBlocked");
    assert!(uuid::Uuid::parse_str(parts.headers["request-id"].to_str().unwrap()).is_ok());
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["error"]["code"], "Forbidden");
    let (code, target, message) = detail(&json);
    assert_eq!((code, target), ("18", "New-JournalRule"));
    assert_eq!(message, format!("GW0001|GatewayPolicyBlocked|{TEXT}"));
}

#[tokio::test]
async fn rest_text_never_adds_a_separator() {
    let (_, text) = body(refuse::rest_forbidden("a|b", "x|y\nz")).await;
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let (_, _, message) = detail(&json);
    assert_eq!(
        message.split('|').collect::<Vec<_>>(),
        ["GW0001", "GatewayPolicyBlocked", "x/y z"]
    );
}

#[tokio::test]
async fn rest_throttle_is_429_with_retry_after() {
    let t = Throttle {
        rule: "per-user".into(),
        retry_after_ms: 30_001,
    };
    let (parts, text) = body(refuse::rest_throttled(&t)).await;
    assert_eq!(parts.status, 429);
    assert_eq!(parts.headers["retry-after"], "31");
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let (code, _, message) = detail(&json);
    assert_eq!(code, "29");
    assert!(
        message.starts_with("GW0002|GatewayRateLimited|Too many requests"),
        "{message}"
    );
    assert!(message.contains("Retry after 31 seconds"), "{message}");
}

#[tokio::test]
async fn rest_inspection_error_is_400() {
    let (parts, text) = body(refuse::rest_bad_request(
        "rest: CmdletInput.CmdletName: missing",
    ))
    .await;
    assert_eq!(parts.status, 400);
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["error"]["code"], "BadRequest");
    let (code, _, message) = detail(&json);
    assert_eq!(code, "6");
    assert_eq!(
        message,
        "GW0003|GatewayInspectionFailed|rest: CmdletInput.CmdletName: missing"
    );
}
