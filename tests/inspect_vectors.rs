//! The real captures in `../shared/vectors` (pypsrp test traffic, psrpcore output) through the
//! inspector, checked against what each capture's pipeline is known to contain.

use runspace_gateway::config::InspectLimits;
use runspace_gateway::inspect::{parse_create_pipeline, WinrmInspector};
use runspace_gateway::invocation::{Invocation, REDACTED};
use serde_json::json;
use std::path::PathBuf;

fn vectors() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/vectors")
}

/// The request envelopes of a pypsrp capture, in order.
fn requests(name: &str) -> Vec<String> {
    let text = std::fs::read_to_string(vectors().join(name)).expect("vector present");
    text.lines()
        .filter_map(|l| l.trim_start().strip_prefix("- request: "))
        .map(str::to_owned)
        .collect()
}

fn invocations(name: &str) -> Vec<Invocation> {
    let w = WinrmInspector::new(InspectLimits::default());
    requests(name)
        .iter()
        .filter_map(|r| {
            let i = w
                .inspect(r.as_bytes(), "vagrant", None, 0)
                .expect("capture inspects");
            i.invocation().cloned()
        })
        .collect()
}

#[test]
fn multiple_commands_capture_gives_ten_statements_with_secrets_redacted() {
    let invs = invocations("test_psrp_multiple_commands.yml");
    assert_eq!(invs.len(), 1);
    let inv = &invs[0];
    assert_eq!(
        inv.shell_id.as_deref(),
        Some("11AC8B01-5D0D-4A44-98F4-64E68FDEFB1F")
    );
    assert_eq!(
        inv.command_id.as_deref(),
        Some("5364FDCD-7BDF-4606-B5BE-B732BBE3FC96")
    );
    let names: Vec<&str> = inv.commands().map(|c| c.name.as_str()).collect();
    assert_eq!(names.len(), 10);
    assert_eq!(names[0], "Set-Variable");
    assert_eq!(names[2], "ConvertTo-SecureString");
    assert_eq!(names[5], "cmd.exe");
    assert_eq!(names[9], "Get-Service");
    let st = &inv.statements;
    // SecureString value is never carried.
    assert_eq!(st[0][0].param("Value").unwrap().value, json!(REDACTED));
    // IsScript statements.
    assert!(st[1][0].is_script && st[4][0].is_script && st[8][0].is_script);
    // pypsrp switches are Nil-valued named parameters.
    assert_eq!(st[2][0].param("AsPlainText").unwrap().value, json!(null));
    // _x000A_ and surrogate escapes decode; an escaped underscore stays literal.
    let v = st[3][0]
        .param("Value")
        .unwrap()
        .value
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        v.contains("actual_x000A_string\nnewline: \u{10437}"),
        "{v:?}"
    );
    assert_eq!(st[5][0].positional, vec![json!("/c echo hi")]);
    assert_eq!(st[7][0].param("Value").unwrap().value, json!(123));
}

#[test]
fn error_failed_capture_is_one_script() {
    let invs = invocations("test_psrp_error_failed.yml");
    assert_eq!(invs.len(), 1);
    let c = &invs[0].statements[0][0];
    assert!(c.is_script);
    assert!(c.name.starts_with("$ErrorActionPreference = 'Stop'"));
}

#[test]
fn get_command_metadata_capture_gives_three_discovery_pipelines() {
    let invs = invocations("test_psrp_get_command_metadata.yml");
    let names: Vec<serde_json::Value> = invs
        .iter()
        .map(|i| i.statements[0][0].param("Name").unwrap().value.clone())
        .collect();
    assert_eq!(
        names,
        vec![
            json!(["new-pssession*"]),
            json!(["new-*"]),
            json!(["Get-*"])
        ]
    );
    assert!(invs
        .iter()
        .all(|i| i.statements[0][0].name == "Get-Command"));
}

#[test]
fn receive_failure_capture_inspects_without_error() {
    let w = WinrmInspector::new(InspectLimits::default());
    for r in requests("test_psrp_receive_failure.yml") {
        w.inspect(r.as_bytes(), "vagrant", None, 0).unwrap();
    }
}

#[test]
fn psrpcore_fragment_vector_decodes_to_the_same_pipeline_as_its_xml() {
    use base64::Engine;
    use runspace_gateway::psrp::{fragment, message::Message};
    let b64 =
        std::fs::read_to_string(vectors().join("psrpcore_create_pipeline_fragment.b64")).unwrap();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .unwrap();
    let frags = fragment::parse_fragments(&bytes).unwrap();
    let joined: Vec<u8> = frags.iter().flat_map(|f| f.blob.iter().copied()).collect();
    let msg = Message::parse(&joined).unwrap();
    let from_fragment = parse_create_pipeline(msg.data, &InspectLimits::default()).unwrap();
    let xml = std::fs::read(vectors().join("psrpcore_create_pipeline.xml")).unwrap();
    let from_xml = parse_create_pipeline(&xml, &InspectLimits::default()).unwrap();
    assert_eq!(from_fragment, from_xml);
    assert_eq!(from_xml.statements.len(), 2);
}
