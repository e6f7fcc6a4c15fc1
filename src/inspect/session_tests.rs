//! Shell state, exercised through the WinRM inspector with client-shaped requests.

use crate::config::InspectLimits;
use crate::inspect::build::{self, s, CmdSpec};
use crate::inspect::winrm::{WinrmInspection, WinrmInspector};
use crate::inspect::InspectError;
use crate::psrp::fragment;
use crate::psrp::message::{Destination, Message, MessageType};
use crate::psrp::xpress;
use uuid::Uuid;

const SHELL: &str = "76056A84-51DC-4F24-9262-CA2A55464B2B";
const CMD: &str = "E888E1DF-C962-41D6-BEFD-F2C82D0ABCCA";
const USER: &str = "admin@contoso.com";

fn rpid() -> Uuid {
    Uuid::parse_str(SHELL).unwrap()
}
fn pid() -> Uuid {
    Uuid::parse_str(CMD).unwrap()
}

fn pipeline_message(cmds: &[Vec<CmdSpec>]) -> Vec<u8> {
    let xml = build::create_pipeline_xml(cmds, true);
    build::message(MessageType::CreatePipeline, rpid(), pid(), xml.as_bytes())
}

fn get_mailbox() -> Vec<u8> {
    pipeline_message(&[vec![CmdSpec::new(
        "Get-Mailbox",
        &[(Some("Identity"), &s("bob"))],
    )]])
}

fn opened(limits: InspectLimits, xpress: bool) -> WinrmInspector {
    let w = WinrmInspector::new(limits);
    let cap = build::message(
        MessageType::SessionCapability,
        rpid(),
        Uuid::nil(),
        b"<Obj RefId=\"0\"/>",
    );
    let creation = fragment::encode_message(1, &cap, 32_768);
    let r = w
        .inspect(
            build::create_envelope(SHELL, &creation, xpress).as_bytes(),
            USER,
            None,
            0,
        )
        .unwrap();
    assert!(r.is_create());
    assert_eq!(r.shell_id.as_deref(), Some(SHELL));
    w
}

fn run(w: &WinrmInspector, env: &str, now: i64) -> Result<WinrmInspection, InspectError> {
    w.inspect(env.as_bytes(), USER, None, now)
}

#[test]
fn single_fragment_command_gives_the_invocation() {
    let w = opened(InspectLimits::default(), false);
    let args = fragment::encode_message(5, &get_mailbox(), 32_768);
    let r = run(&w, &build::command_envelope(SHELL, CMD, &args), 1).unwrap();
    let inv = r.invocation().expect("complete");
    assert_eq!(inv.principal, USER);
    assert_eq!(inv.shell_id.as_deref(), Some(SHELL));
    assert_eq!(inv.command_id.as_deref(), Some(CMD));
    assert_eq!(inv.statements[0][0].name, "Get-Mailbox");
    assert_eq!(r.command_id.as_deref(), Some(CMD));
}

#[test]
fn parameters_split_across_fragments_and_sends() {
    let w = opened(InspectLimits::default(), false);
    let payloads = build::fragment_payloads(9, &get_mailbox(), 50, 2);
    assert!(payloads.len() > 3);
    let first = run(&w, &build::command_envelope(SHELL, CMD, &payloads[0]), 1).unwrap();
    assert!(!first.completes_pipeline());
    let last = payloads.len() - 1;
    for (i, p) in payloads.iter().enumerate().skip(1) {
        let r = run(&w, &build::send_envelope(SHELL, Some(CMD), &[p]), 2).unwrap();
        assert_eq!(r.completes_pipeline(), i == last, "payload {i}");
        if i == last {
            assert_eq!(
                r.invocation().unwrap().statements[0][0]
                    .param("Identity")
                    .unwrap()
                    .value,
                "bob"
            );
        }
    }
}

#[test]
fn retransmitted_send_is_tolerated() {
    let w = opened(InspectLimits::default(), false);
    let payloads = build::fragment_payloads(9, &get_mailbox(), 100, 1);
    run(&w, &build::command_envelope(SHELL, CMD, &payloads[0]), 1).unwrap();
    let second = build::send_envelope(SHELL, Some(CMD), &[&payloads[1]]);
    assert!(!run(&w, &second, 2).unwrap().completes_pipeline());
    assert!(!run(&w, &second, 3).unwrap().completes_pipeline());
    let rest: Vec<&[u8]> = payloads[2..].iter().map(Vec::as_slice).collect();
    assert!(run(&w, &build::send_envelope(SHELL, Some(CMD), &rest), 4)
        .unwrap()
        .completes_pipeline());
}

#[test]
fn unknown_shell_and_other_principal_are_refused() {
    let w = opened(InspectLimits::default(), false);
    let args = fragment::encode_message(5, &get_mailbox(), 32_768);
    let other_shell = build::command_envelope("11111111-1111-1111-1111-111111111111", CMD, &args);
    assert!(run(&w, &other_shell, 1)
        .unwrap_err()
        .to_string()
        .contains("not opened through this gateway"));
    let env = build::command_envelope(SHELL, CMD, &args);
    let e = w
        .inspect(env.as_bytes(), "mallory@contoso.com", None, 1)
        .unwrap_err();
    assert!(e.to_string().contains("another principal"), "{e}");
}

#[test]
fn lower_case_ids_match_the_upper_case_shell() {
    let w = opened(InspectLimits::default(), false);
    let args = fragment::encode_message(5, &get_mailbox(), 32_768);
    let r = run(
        &w,
        &build::command_envelope(&SHELL.to_lowercase(), &CMD.to_lowercase(), &args),
        1,
    )
    .unwrap();
    assert_eq!(r.invocation().unwrap().command_id.as_deref(), Some(CMD));
}

#[test]
fn xpress_shell_sends_are_decoded() {
    let w = opened(InspectLimits::default(), true);
    let payloads = build::fragment_payloads(9, &get_mailbox(), 400, 1);
    run(&w, &build::command_envelope(SHELL, CMD, &payloads[0]), 1).unwrap();
    let framed: Vec<Vec<u8>> = payloads[1..]
        .iter()
        .map(|p| xpress::encode_stored(p))
        .collect();
    let refs: Vec<&[u8]> = framed.iter().map(Vec::as_slice).collect();
    let r = run(&w, &build::send_envelope(SHELL, Some(CMD), &refs), 2).unwrap();
    assert!(r.completes_pipeline());
}

#[test]
fn xpress_shell_refuses_unframed_sends() {
    let w = opened(InspectLimits::default(), true);
    let payloads = build::fragment_payloads(9, &get_mailbox(), 400, 1);
    run(&w, &build::command_envelope(SHELL, CMD, &payloads[0]), 1).unwrap();
    assert!(run(
        &w,
        &build::send_envelope(SHELL, Some(CMD), &[&payloads[1]]),
        2
    )
    .is_err());
}

#[test]
fn guid_byte_order_does_not_matter_correlation_uses_soap_ids() {
    let w = opened(InspectLimits::default(), false);
    let xml = build::create_pipeline_xml(&[vec![CmdSpec::new("Get-Date", &[])]], true);
    // Old pypsrp wrote RFC byte order: RPID/PID read back as different GUIDs.
    let msg = Message {
        destination: Destination::Server,
        message_type: MessageType::CreatePipeline,
        rpid: Uuid::from_bytes_le(*rpid().as_bytes()),
        pid: Uuid::from_bytes_le(*pid().as_bytes()),
        data: xml.as_bytes(),
    }
    .to_bytes();
    let args = fragment::encode_message(3, &msg, 32_768);
    let r = run(&w, &build::command_envelope(SHELL, CMD, &args), 1).unwrap();
    let inv = r.invocation().unwrap();
    assert_eq!(inv.shell_id.as_deref(), Some(SHELL));
    assert_eq!(inv.command_id.as_deref(), Some(CMD));
}

#[test]
fn message_without_bom_is_read_too() {
    let w = opened(InspectLimits::default(), false);
    let xml = build::create_pipeline_xml(&[vec![CmdSpec::new("Get-Date", &[])]], true);
    let msg = Message {
        destination: Destination::Server,
        message_type: MessageType::CreatePipeline,
        rpid: rpid(),
        pid: pid(),
        data: xml.as_bytes(),
    }
    .to_bytes();
    let r = run(
        &w,
        &build::command_envelope(SHELL, CMD, &fragment::encode_message(3, &msg, 32_768)),
        1,
    )
    .unwrap();
    assert!(r.completes_pipeline());
}

#[test]
fn pool_level_send_carrying_create_pipeline_is_still_an_invocation() {
    let w = opened(InspectLimits::default(), false);
    let data = fragment::encode_message(4, &get_mailbox(), 32_768);
    let r = run(&w, &build::send_envelope(SHELL, None, &[&data]), 1).unwrap();
    assert_eq!(r.invocation().unwrap().command_id.as_deref(), Some(CMD));
}

#[test]
fn unknown_and_server_message_types_are_refused() {
    let w = opened(InspectLimits::default(), false);
    for t in [
        MessageType::Unknown(0x0004_1012),
        MessageType::PipelineOutput,
    ] {
        let msg = build::message(t, rpid(), pid(), b"<S>x</S>");
        let data = fragment::encode_message(4, &msg, 32_768);
        let e = run(&w, &build::send_envelope(SHELL, Some(CMD), &[&data]), 1).unwrap_err();
        assert!(e.to_string().contains("MessageType"), "{e}");
    }
    let mut msg = get_mailbox();
    msg[0] = 1; // Destination client
    let data = fragment::encode_message(4, &msg, 32_768);
    assert!(run(&w, &build::command_envelope(SHELL, CMD, &data), 1).is_err());
}

#[test]
fn two_pipelines_in_one_request_are_refused() {
    let w = opened(InspectLimits::default(), false);
    let mut data = fragment::encode_message(4, &get_mailbox(), 32_768);
    data.extend(fragment::encode_message(5, &get_mailbox(), 32_768));
    let e = run(&w, &build::command_envelope(SHELL, CMD, &data), 1).unwrap_err();
    assert!(e.to_string().contains("two pipelines"), "{e}");
}

#[test]
fn pipeline_input_with_a_script_block_is_flagged() {
    let w = opened(InspectLimits::default(), false);
    let input = build::message(
        MessageType::PipelineInput,
        rpid(),
        pid(),
        b"<SBK>Remove-Item x</SBK>",
    );
    let data = fragment::encode_message(6, &input, 32_768);
    let r = run(&w, &build::send_envelope(SHELL, Some(CMD), &[&data]), 1).unwrap();
    assert!(!r.completes_pipeline());
    assert!(r.input_has_script_block());
}

#[test]
fn receive_signal_and_delete() {
    let w = opened(InspectLimits::default(), false);
    let r = run(&w, &build::receive_envelope(SHELL, Some(CMD)), 1).unwrap();
    assert_eq!(
        (r.completes_pipeline(), r.command_id.as_deref()),
        (false, Some(CMD))
    );
    let payloads = build::fragment_payloads(9, &get_mailbox(), 100, 1);
    run(&w, &build::command_envelope(SHELL, CMD, &payloads[0]), 1).unwrap();
    run(
        &w,
        &build::signal_envelope(SHELL, CMD, "powershell/signal/crtl_c"),
        2,
    )
    .unwrap();
    // The half-built pipeline is gone: its continuation has nothing to join.
    assert!(run(
        &w,
        &build::send_envelope(SHELL, Some(CMD), &[&payloads[1]]),
        3
    )
    .is_err());
    run(&w, &build::delete_envelope(SHELL), 4).unwrap();
    assert_eq!(w.shell_owner(SHELL), None);
}

#[test]
fn max_shells_at_its_edge() {
    let limits = InspectLimits {
        max_shells: 2,
        ..InspectLimits::default()
    };
    let w = WinrmInspector::new(limits);
    let ids = [
        "A0000000-0000-0000-0000-000000000001",
        "A0000000-0000-0000-0000-000000000002",
        "A0000000-0000-0000-0000-000000000003",
    ];
    let cap = build::message(
        MessageType::SessionCapability,
        rpid(),
        Uuid::nil(),
        b"<Obj RefId=\"0\"/>",
    );
    let creation = fragment::encode_message(1, &cap, 32_768);
    for id in &ids[..2] {
        run(&w, &build::create_envelope(id, &creation, false), 0).unwrap();
    }
    let e = run(&w, &build::create_envelope(ids[2], &creation, false), 0).unwrap_err();
    assert_eq!(e.limit_name(), Some("max_shells"));
    run(&w, &build::delete_envelope(ids[0]), 0).unwrap();
    assert!(run(&w, &build::create_envelope(ids[2], &creation, false), 0).is_ok());
}

#[test]
fn duplicate_create_is_refused() {
    let w = opened(InspectLimits::default(), false);
    let creation = fragment::encode_message(
        1,
        &build::message(
            MessageType::SessionCapability,
            rpid(),
            Uuid::nil(),
            b"<Obj RefId=\"0\"/>",
        ),
        32_768,
    );
    assert!(run(&w, &build::create_envelope(SHELL, &creation, false), 1).is_err());
}

#[test]
fn receive_and_signal_on_another_principals_shell_are_refused() {
    let w = opened(InspectLimits::default(), false);
    for env in [
        build::receive_envelope(SHELL, Some(CMD)),
        build::signal_envelope(SHELL, CMD, "x"),
        build::delete_envelope(SHELL),
    ] {
        let e = w
            .inspect(env.as_bytes(), "mallory@contoso.com", None, 1)
            .unwrap_err();
        assert!(e.to_string().contains("another principal"), "{e}");
    }
    assert_eq!(w.shell_owner(SHELL).as_deref(), Some(USER));
}
