use super::*;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

/// One element of a parsed response: namespace URI, local name, attributes, text.
#[derive(Debug, Default)]
struct El {
    ns: String,
    name: String,
    attrs: Vec<(String, String)>,
    text: String,
}

impl El {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Parse a whole envelope into a flat list of elements in document order (fails on bad XML).
fn parse(xml: &str) -> Vec<El> {
    let mut reader = NsReader::from_str(xml);
    let mut out: Vec<El> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    loop {
        let (res, event) = reader.read_resolved_event().expect("well-formed XML");
        let ns = match res {
            ResolveResult::Bound(ns) => String::from_utf8(ns.as_ref().to_vec()).unwrap(),
            _ => String::new(),
        };
        let is_empty = matches!(event, Event::Empty(_));
        match event {
            Event::Start(e) | Event::Empty(e) => {
                let name = String::from_utf8(e.local_name().as_ref().to_vec()).unwrap();
                let attrs = e
                    .attributes()
                    .map(|a| {
                        let a = a.unwrap();
                        let key = String::from_utf8(a.key.local_name().as_ref().to_vec()).unwrap();
                        (
                            key,
                            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                                .unwrap()
                                .into_owned(),
                        )
                    })
                    .collect();
                out.push(El {
                    ns,
                    name,
                    attrs,
                    text: String::new(),
                });
                if !is_empty {
                    open.push(out.len() - 1);
                }
            }
            Event::End(_) => {
                open.pop();
            }
            Event::Text(t) => {
                let text = t.decode().unwrap().into_owned();
                if let Some(&i) = open.last() {
                    out[i].text.push_str(&text);
                }
            }
            Event::GeneralRef(r) => {
                let s = match r.decode().unwrap().as_ref() {
                    "lt" => "<".to_string(),
                    "gt" => ">".to_string(),
                    "amp" => "&".to_string(),
                    "quot" => "\"".to_string(),
                    "apos" => "'".to_string(),
                    _ => r.resolve_char_ref().unwrap().unwrap().to_string(),
                };
                if let Some(&i) = open.last() {
                    out[i].text.push_str(&s);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    out
}

fn find<'a>(els: &'a [El], ns: &str, name: &str) -> &'a El {
    els.iter()
        .find(|e| e.ns == ns && e.name == name)
        .unwrap_or_else(|| panic!("no {{{ns}}}{name}"))
}

fn count(els: &[El], ns: &str, name: &str) -> usize {
    els.iter().filter(|e| e.ns == ns && e.name == name).count()
}

const REQ: &str = "uuid:6ECA797F-7AEC-4F73-99AC-30C8A311FE94";

#[test]
fn every_response_relates_to_the_request_and_has_its_action() {
    let cases = [
        (
            create_response(
                REQ,
                "https://h/wsman",
                "http://schemas.microsoft.com/powershell/Microsoft.Exchange",
                "S1",
            ),
            "http://schemas.xmlsoap.org/ws/2004/09/transfer/CreateResponse",
        ),
        (
            command_response(REQ, "C1"),
            "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandResponse",
        ),
        (
            send_response(REQ),
            "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/SendResponse",
        ),
        (
            signal_response(REQ),
            "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/SignalResponse",
        ),
        (
            delete_response(REQ),
            "http://schemas.xmlsoap.org/ws/2004/09/transfer/DeleteResponse",
        ),
        (
            receive_response(REQ, &[], None),
            "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/ReceiveResponse",
        ),
        (
            operation_timeout_fault(REQ, "m"),
            "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault",
        ),
    ];
    for (xml, action) in cases {
        let els = parse(&xml);
        assert_eq!(find(&els, NS_A, "Action").text, action);
        assert_eq!(find(&els, NS_A, "RelatesTo").text, REQ);
        let id = &find(&els, NS_A, "MessageID").text;
        assert!(id.starts_with("uuid:") && id.len() == 41, "{id}");
        assert_eq!(count(&els, NS_S, "Body"), 1);
    }
}

#[test]
fn create_response_names_the_shell_in_the_selector_and_the_shell_element() {
    let xml = create_response(
        REQ,
        "https://h/wsman",
        "http://schemas.microsoft.com/powershell/Microsoft.Exchange",
        "11AC8B01",
    );
    let els = parse(&xml);
    let selector = find(&els, NS_W, "Selector");
    assert_eq!(selector.attr("Name"), Some("ShellId"));
    assert_eq!(selector.text, "11AC8B01");
    assert_eq!(find(&els, NS_RSP, "ShellId").text, "11AC8B01");
    assert_eq!(
        find(&els, NS_W, "ResourceURI").text,
        "http://schemas.microsoft.com/powershell/Microsoft.Exchange"
    );
}

#[test]
fn command_response_echoes_the_command_id() {
    let els = parse(&command_response(REQ, "E888E1DF-C962"));
    assert_eq!(find(&els, NS_RSP, "CommandId").text, "E888E1DF-C962");
}

#[test]
fn receive_response_lists_streams_in_order_with_the_command_state() {
    let streams = [
        OutStream {
            name: "stdout",
            command_id: Some("C1"),
            base64: "AAAA",
        },
        OutStream {
            name: "stdout",
            command_id: Some("C1"),
            base64: "BBBB",
        },
    ];
    let els = parse(&receive_response(
        REQ,
        &streams,
        Some(("C1", CommandState::Done)),
    ));
    let got: Vec<_> = els
        .iter()
        .filter(|e| e.name == "Stream")
        .map(|e| (e.attr("CommandId"), e.text.as_str()))
        .collect();
    assert_eq!(got, vec![(Some("C1"), "AAAA"), (Some("C1"), "BBBB")]);
    let state = find(&els, NS_RSP, "CommandState");
    assert_eq!(
        state.attr("State"),
        Some("http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done")
    );
    assert_eq!(find(&els, NS_RSP, "ExitCode").text, "0");
}

#[test]
fn receive_response_running_has_no_exit_code_and_pool_output_no_state() {
    let s = [OutStream {
        name: "stdout",
        command_id: None,
        base64: "AAAA",
    }];
    let els = parse(&receive_response(
        REQ,
        &s,
        Some(("C1", CommandState::Running)),
    ));
    assert!(find(&els, NS_RSP, "CommandState")
        .attr("State")
        .unwrap()
        .ends_with("/Running"));
    assert_eq!(count(&els, NS_RSP, "ExitCode"), 0);
    let els = parse(&receive_response(REQ, &s, None));
    assert_eq!(count(&els, NS_RSP, "CommandState"), 0);
    assert_eq!(find(&els, NS_RSP, "Stream").attr("CommandId"), None);
}

#[test]
fn faults_carry_the_code_and_the_same_text_in_reason_and_message() {
    let els = parse(&operation_timeout_fault(REQ, "mock"));
    let f = find(&els, NS_F, "WSManFault");
    assert_eq!(f.attr("Code"), Some("2150858793"));
    assert_eq!(f.attr("Machine"), Some("mock"));
    assert_eq!(
        find(&els, NS_S, "Text").text,
        find(&els, NS_F, "Message").text
    );
    let els = parse(&unknown_shell_fault(REQ, "mock", "no shell X"));
    assert_eq!(
        find(&els, NS_F, "WSManFault").attr("Code"),
        Some("2150858843")
    );
    assert_eq!(find(&els, NS_F, "Message").text, "no shell X");
}

#[test]
fn client_supplied_text_is_escaped_not_injected() {
    let hostile = "uuid:1</a:RelatesTo><evil a=\"&\"/>";
    let els = parse(&command_response(hostile, "<C&\"'>"));
    assert_eq!(find(&els, NS_A, "RelatesTo").text, hostile);
    assert_eq!(find(&els, NS_RSP, "CommandId").text, "<C&\"'>");
    assert!(els.iter().all(|e| e.name != "evil"));
    let msg = "a < b & \"c\"";
    let els = parse(&unknown_shell_fault(REQ, "m&m", msg));
    assert_eq!(find(&els, NS_F, "Message").text, msg);
    assert_eq!(find(&els, NS_F, "WSManFault").attr("Machine"), Some("m&m"));
}

#[test]
fn get_response_describes_the_shell() {
    let els = parse(&get_response(REQ, "S1", "a<b"));
    assert_eq!(find(&els, NS_RSP, "ShellId").text, "S1");
    assert_eq!(find(&els, NS_RSP, "Owner").text, "a<b");
    assert_eq!(find(&els, NS_RSP, "State").text, "Connected");
}
