//! Adversarial requests through the gateway's entry point (`Inspector::inspect` with an HTTP
//! head), one named test per trick. Each asserts either the exact invocation the endpoint would
//! run or a refusal naming the layer.

use runspace_gateway::config::InspectLimits;
use runspace_gateway::inspect::build::{self, s, CmdSpec};
use runspace_gateway::inspect::{InspectError, Inspection, Inspector, Layer};
use runspace_gateway::invocation::Invocation;
use runspace_gateway::psrp::{fragment, message::MessageType};
use uuid::Uuid;

const SHELL: &str = "76056A84-51DC-4F24-9262-CA2A55464B2B";
const CMD: &str = "E888E1DF-C962-41D6-BEFD-F2C82D0ABCCA";

fn head(path: &str, auth: &str) -> http::request::Parts {
    http::Request::builder()
        .method("POST")
        .uri(path)
        .header("content-type", "application/soap+xml;charset=UTF-8")
        .header("authorization", auth)
        .body(())
        .unwrap()
        .into_parts()
        .0
}

fn basic(user: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:pw"))
    )
}

struct Session {
    inspector: Inspector,
}

impl Session {
    fn open() -> Self {
        let inspector = Inspector::new(InspectLimits::default());
        let cap = build::message(
            MessageType::SessionCapability,
            Uuid::nil(),
            Uuid::nil(),
            b"<Obj RefId=\"0\"/>",
        );
        let creation = fragment::encode_message(1, &cap, 32_768);
        let s = Session { inspector };
        s.send(&build::create_envelope(SHELL, &creation, false))
            .unwrap();
        s
    }

    fn send(&self, body: &str) -> Result<Inspection, InspectError> {
        self.inspector.inspect(
            &head("/wsman?PSVersion=5.1", &basic("admin@contoso.com")),
            body.as_bytes(),
            None,
            0,
        )
    }

    fn command_xml(&self, xml: &str) -> Result<Option<Invocation>, InspectError> {
        let msg = build::message(
            MessageType::CreatePipeline,
            Uuid::nil(),
            Uuid::nil(),
            xml.as_bytes(),
        );
        let args = fragment::encode_message(3, &msg, 32_768);
        Ok(self
            .send(&build::command_envelope(SHELL, CMD, &args))?
            .invocation()
            .cloned())
    }

    fn command(&self, cmds: &[Vec<CmdSpec>]) -> Result<Option<Invocation>, InspectError> {
        self.command_xml(&build::create_pipeline_xml(cmds, true))
    }
}

fn names(inv: &Invocation) -> Vec<String> {
    inv.commands().map(|c| c.key()).collect()
}

#[test]
fn mixed_case_cmdlet_names_compare_equal() {
    let inv = Session::open()
        .command(&[vec![CmdSpec::new("rEmOvE-mAiLbOx", &[])]])
        .unwrap()
        .unwrap();
    assert_eq!(names(&inv), ["remove-mailbox"]);
}

#[test]
fn escaped_names_new_journal_x0052_ule() {
    let xml = build::create_pipeline_xml(&[vec![CmdSpec::new("X", &[])]], true).replace(
        "<S N=\"Cmd\">X</S>",
        "<S N=\"Cmd\">New-Journal_x0052_ule</S>",
    );
    let inv = Session::open().command_xml(&xml).unwrap().unwrap();
    assert_eq!(names(&inv), ["new-journalrule"]);
}

#[test]
fn second_statements_in_extra_cmds() {
    let inv = Session::open()
        .command(&[
            vec![CmdSpec::new("Get-Date", &[])],
            vec![CmdSpec::new("Remove-Mailbox", &[(None, &s("ceo"))])],
        ])
        .unwrap()
        .unwrap();
    assert_eq!(names(&inv), ["get-date", "remove-mailbox"]);
}

#[test]
fn scripts_are_marked() {
    let mut spec = CmdSpec::new("Remove-Mailbox ceo -Confirm:$false", &[]);
    spec.is_script = true;
    let inv = Session::open().command(&[vec![spec]]).unwrap().unwrap();
    assert!(inv.statements[0][0].is_script);
}

#[test]
fn parameters_split_across_fragments() {
    let session = Session::open();
    let xml = build::create_pipeline_xml(
        &[vec![CmdSpec::new(
            "Set-Mailbox",
            &[
                (Some("Identity"), &s("ceo")),
                (Some("ForwardingSmtpAddress"), &s("evil@x")),
            ],
        )]],
        true,
    );
    let msg = build::message(
        MessageType::CreatePipeline,
        Uuid::nil(),
        Uuid::nil(),
        xml.as_bytes(),
    );
    // Cut inside the parameter name: fragments of 7 bytes, one per request.
    let payloads = build::fragment_payloads(4, &msg, 7, 1);
    assert!(session
        .send(&build::command_envelope(SHELL, CMD, &payloads[0]))
        .unwrap()
        .invocation()
        .is_none());
    let mut last = None;
    for p in &payloads[1..] {
        last = session
            .send(&build::send_envelope(SHELL, Some(CMD), &[p]))
            .unwrap()
            .invocation()
            .cloned();
    }
    let inv = last.expect("completed by the last Send");
    assert_eq!(
        inv.statements[0][0]
            .param("forwardingsmtpaddress")
            .unwrap()
            .value,
        "evil@x"
    );
}

#[test]
fn duplicate_clixml_property_is_refused() {
    let xml = build::create_pipeline_xml(&[vec![CmdSpec::new("Get-Date", &[])]], true).replace(
        "<S N=\"Cmd\">Get-Date</S>",
        "<S N=\"Cmd\">Get-Date</S><S N=\"cmd\">Remove-Mailbox</S>",
    );
    let e = Session::open().command_xml(&xml).unwrap_err();
    assert_eq!(e.layer(), Layer::Clixml);
}

#[test]
fn duplicate_soap_arguments_are_refused() {
    let session = Session::open();
    let env = build::command_envelope(SHELL, CMD, b"x");
    let env = env.replace(
        "</rsp:CommandLine>",
        "<rsp:Arguments>eA==</rsp:Arguments></rsp:CommandLine>",
    );
    assert_eq!(session.send(&env).unwrap_err().layer(), Layer::Envelope);
}

#[test]
fn conflicting_retransmission_is_refused() {
    let session = Session::open();
    let msg = build::message(
        MessageType::CreatePipeline,
        Uuid::nil(),
        Uuid::nil(),
        build::create_pipeline_xml(&[vec![CmdSpec::new("Get-Date", &[])]], true).as_bytes(),
    );
    let frags = fragment::split_message(4, &msg, 40);
    let enc = |f: &fragment::Fragment<'_>| {
        let mut v = Vec::new();
        f.encode(&mut v);
        v
    };
    session
        .send(&build::command_envelope(SHELL, CMD, &enc(&frags[0])))
        .unwrap();
    session
        .send(&build::send_envelope(SHELL, Some(CMD), &[&enc(&frags[1])]))
        .unwrap();
    let mut evil = frags[1];
    evil.blob = b"<Obj RefId=\"0\"><MS><S N=\"Cmd\">Remove-Mailbox</S>";
    let e = session
        .send(&build::send_envelope(SHELL, Some(CMD), &[&enc(&evil)]))
        .unwrap_err();
    assert_eq!(e.layer(), Layer::Fragment);
}

#[test]
fn namespace_prefix_games_cannot_hide_the_arguments() {
    let session = Session::open();
    let msg = build::message(
        MessageType::CreatePipeline,
        Uuid::nil(),
        Uuid::nil(),
        build::create_pipeline_xml(&[vec![CmdSpec::new("Remove-Mailbox", &[])]], true).as_bytes(),
    );
    let args = fragment::encode_message(4, &msg, 32_768);
    // The shell namespace under an unusual prefix is still read ...
    let env = build::command_envelope(SHELL, CMD, &args)
        .replace("xmlns:rsp=", "xmlns:q=")
        .replace("rsp:", "q:");
    assert_eq!(
        names(session.send(&env).unwrap().invocation().unwrap()),
        ["remove-mailbox"]
    );
    // ... and a familiar prefix bound to another URI does not carry a pipeline past us.
    let env = build::command_envelope(SHELL, "C2", &args).replace(
        "xmlns:rsp=\"http://schemas.microsoft.com/wbem/wsman/1/windows/shell\"",
        "xmlns:rsp=\"urn:not-the-shell\"",
    );
    assert_eq!(session.send(&env).unwrap_err().layer(), Layer::Envelope);
}

#[test]
fn boms_on_message_data_and_envelope_are_handled() {
    let session = Session::open();
    // build::message writes PowerShell's BOM before the CLIXML.
    let inv = session
        .command(&[vec![CmdSpec::new("Get-Date", &[])]])
        .unwrap()
        .unwrap();
    assert_eq!(names(&inv), ["get-date"]);
    // A BOM before the envelope itself.
    let msg = build::message(
        MessageType::CreatePipeline,
        Uuid::nil(),
        Uuid::nil(),
        build::create_pipeline_xml(&[vec![CmdSpec::new("Get-Date", &[])]], true).as_bytes(),
    );
    let env = format!(
        "\u{feff}{}",
        build::command_envelope(SHELL, "C3", &fragment::encode_message(5, &msg, 32_768))
    );
    assert!(session.send(&env).unwrap().invocation().is_some());
    // Two BOMs: the message layer strips one, the XML reader skips the other; same content.
    let mut twice = b"\xEF\xBB\xBF".to_vec();
    twice.extend(
        build::create_pipeline_xml(&[vec![CmdSpec::new("Get-Date", &[])]], true).as_bytes(),
    );
    let msg = build::message(
        MessageType::CreatePipeline,
        Uuid::nil(),
        Uuid::nil(),
        &twice,
    );
    let r = session
        .send(&build::command_envelope(
            SHELL,
            "C4",
            &fragment::encode_message(6, &msg, 32_768),
        ))
        .unwrap();
    assert_eq!(names(r.invocation().unwrap()), ["get-date"]);
    // A BOM in the middle of the CLIXML is stray text and refused.
    let xml = build::create_pipeline_xml(&[vec![CmdSpec::new("Get-Date", &[])]], true).replacen(
        "<MS>",
        "<MS>\u{feff}",
        1,
    );
    let e = session.command_xml(&xml).unwrap_err();
    assert_eq!(e.layer(), Layer::Clixml);
}

#[test]
fn guid_byte_orders_do_not_change_correlation() {
    let session = Session::open();
    let xml = build::create_pipeline_xml(&[vec![CmdSpec::new("Get-Date", &[])]], true);
    let pid = Uuid::parse_str(CMD).unwrap();
    for wire_pid in [pid, Uuid::from_bytes_le(*pid.as_bytes())] {
        let msg = build::message(
            MessageType::CreatePipeline,
            Uuid::nil(),
            wire_pid,
            xml.as_bytes(),
        );
        let env = build::command_envelope(SHELL, CMD, &fragment::encode_message(8, &msg, 32_768));
        let inv = session.send(&env).unwrap().invocation().cloned().unwrap();
        assert_eq!(inv.command_id.as_deref(), Some(CMD));
    }
}

#[test]
fn delegated_org_gives_the_tenant() {
    let session = Session::open();
    let msg = build::message(
        MessageType::CreatePipeline,
        Uuid::nil(),
        Uuid::nil(),
        build::create_pipeline_xml(&[vec![CmdSpec::new("Get-Date", &[])]], true).as_bytes(),
    );
    let env = build::command_envelope(SHELL, CMD, &fragment::encode_message(8, &msg, 32_768));
    let h = head(
        "/powershell-liveid?DelegatedOrg=fabrikam.onmicrosoft.com&BasicAuthToOAuthConversion=true",
        &basic("admin@contoso.com"),
    );
    let r = session
        .inspector
        .inspect(&h, env.as_bytes(), None, 0)
        .unwrap();
    assert_eq!(
        r.invocation().unwrap().tenant.as_deref(),
        Some("fabrikam.onmicrosoft.com")
    );
}

#[test]
fn rest_and_winrm_give_the_same_command_shape() {
    let inspector = Inspector::new(InspectLimits::default());
    let mut h = head(
        "/adminapi/beta/contoso.onmicrosoft.com/InvokeCommand",
        "Bearer x",
    );
    h.headers
        .insert("authorization", basic("admin@contoso.com").parse().unwrap());
    h.headers
        .insert("content-type", "application/json".parse().unwrap());
    let body =
        br#"{"CmdletInput":{"CmdletName":"Remove-Mailbox","Parameters":{"Identity":"ceo"}}}"#;
    let rest = inspector.inspect(&h, body, None, 0).unwrap();
    let rest_cmd = rest.invocation().unwrap().statements[0][0].clone();
    let winrm = Session::open()
        .command(&[vec![CmdSpec::new(
            "Remove-Mailbox",
            &[(Some("Identity"), &s("ceo"))],
        )]])
        .unwrap()
        .unwrap();
    assert_eq!(rest_cmd, winrm.statements[0][0]);
}

#[test]
fn duplicate_headers_and_compressed_bodies_are_refused() {
    let inspector = Inspector::new(InspectLimits::default());
    let mut h = head("/wsman", &basic("a"));
    h.headers
        .append("authorization", basic("b").parse().unwrap());
    assert_eq!(
        inspector.inspect(&h, b"<x/>", None, 0).unwrap_err().layer(),
        Layer::Http
    );
    let mut h = head("/wsman", &basic("a"));
    h.headers
        .insert("content-encoding", "gzip".parse().unwrap());
    assert_eq!(
        inspector.inspect(&h, b"<x/>", None, 0).unwrap_err().layer(),
        Layer::Http
    );
}

#[test]
fn multipart_encrypted_body_cannot_be_inspected() {
    let inspector = Inspector::new(InspectLimits::default());
    let mut h = head("/wsman", &basic("a"));
    h.headers.insert(
        "content-type",
        "multipart/encrypted;protocol=\"application/HTTP-SPNEGO-session-encrypted\";boundary=\"Encrypted Boundary\"".parse().unwrap(),
    );
    let e = inspector
        .inspect(&h, b"--Encrypted Boundary", None, 0)
        .unwrap_err();
    assert!(matches!(e, InspectError::CannotInspect { .. }), "{e}");
}
