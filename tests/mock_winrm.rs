//! The mock endpoint's WinRM/PSRP side, driven with real pypsrp requests from the captures and
//! its answers decoded with the project's shared PSRP codec.

mod mock_common;

use base64::Engine;
use mock_common::*;
use runspace_gateway::config::InspectLimits;
use runspace_gateway::mock::MockOptions;
use runspace_gateway::psrp::clixml::{self, ClixmlLimits, Value};
use runspace_gateway::psrp::fragment;
use runspace_gateway::psrp::message::{Message, MessageType};
use serde_json::{json, Value as Json};
use std::collections::HashMap;
use std::time::Duration;

const AUTH_USER: &str = "vagrant";

/// Every PSRP message in a ReceiveResponse, reassembled: (type, CLIXML data).
fn messages(response: &str) -> Vec<(MessageType, Vec<u8>)> {
    let mut pending: HashMap<u64, Vec<u8>> = HashMap::new();
    let mut out = Vec::new();
    for b64 in element_texts(response, "Stream") {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        for f in fragment::fragments(&bytes) {
            let f = f.unwrap();
            let buf = pending.entry(f.object_id).or_default();
            buf.extend_from_slice(f.blob);
            if f.end {
                let whole = pending.remove(&f.object_id).unwrap();
                let m = Message::parse(&whole).unwrap();
                out.push((m.message_type, m.data.to_vec()));
            }
        }
    }
    out
}

fn clixml_int(data: &[u8], member: &str) -> i64 {
    let limits = ClixmlLimits::from_config(&InspectLimits::default());
    let v = clixml::parse(data, &limits).unwrap();
    match v.as_obj().and_then(|o| o.member(member)) {
        Some(Value::Int(i)) => *i,
        other => panic!("{member}: {other:?}"),
    }
}

fn log_lines(path: &std::path::Path) -> Vec<Json> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test]
async fn pypsrp_capture_opens_a_pool_runs_ten_statements_and_closes() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("mock.jsonl");
    let mock = start(MockOptions {
        log: Some(log.clone()),
        ..Default::default()
    })
    .await;
    let auth = basic(AUTH_USER, "pw");
    let reqs = capture_requests("test_psrp_multiple_commands.yml");
    let send = |i: usize| post(mock.addr, "/wsman", Some(&auth), reqs[i].clone());

    let (status, _, body) = send(0).await; // Create with creationXml
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        element_texts(&body, "Selector"),
        vec!["11AC8B01-5D0D-4A44-98F4-64E68FDEFB1F"]
    );
    assert_eq!(
        element_texts(&body, "RelatesTo"),
        vec!["uuid:6ECA797F-7AEC-4F73-99AC-30C8A311FE94"]
    );

    let (status, _, body) = send(1).await; // pool Receive: the whole handshake at once
    assert_eq!(status, 200, "{body}");
    let handshake = messages(&body);
    let types: Vec<_> = handshake.iter().map(|(t, _)| *t).collect();
    assert_eq!(
        types,
        vec![
            MessageType::SessionCapability,
            MessageType::ApplicationPrivateData,
            MessageType::RunspacePoolState
        ]
    );
    assert_eq!(clixml_int(&handshake[2].1, "RunspaceState"), 2, "Opened");

    let (status, _, body) = send(5).await; // Command: CREATE_PIPELINE with 10 statements
    assert_eq!(status, 200, "{body}");
    let command_id = element_texts(&body, "CommandId");
    assert_eq!(command_id.len(), 1);

    let (status, _, body) = send(6).await; // Receive for that command
    assert_eq!(status, 200, "{body}");
    let out = messages(&body);
    let last = out.last().unwrap();
    assert_eq!(last.0, MessageType::PipelineState);
    assert_eq!(clixml_int(&last.1, "PipelineState"), 4, "Completed");
    assert!(attribute(&body, "CommandState", "State")
        .unwrap()
        .ends_with("CommandState/Done"));

    let logged = log_lines(&log);
    assert_eq!(
        out.len(),
        logged.len() + 1,
        "one output object per command, then the state"
    );
    assert!(out[..logged.len()]
        .iter()
        .all(|(t, _)| *t == MessageType::PipelineOutput));
    assert_eq!(logged.len(), 10, "{logged:#?}");
    assert_eq!(
        logged[0],
        json!({"user": AUTH_USER, "protocol": "winrm", "cmdlet": "Set-Variable", "module": null,
               "params": {"Name": "sec_string", "Value": "[redacted]"}, "positional": [], "is_script": false,
               "shell_id": "11AC8B01-5D0D-4A44-98F4-64E68FDEFB1F", "command_id": command_id[0], "tenant": null})
    );
    assert!(logged
        .iter()
        .all(|r| r["command_id"] == command_id[0].as_str()));

    let (status, _, body) = send(7).await; // Delete
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = send(6).await; // the shell is gone
    assert_eq!(status, 500);
    assert_eq!(
        attribute(&body, "WSManFault", "Code").as_deref(),
        Some("2150858843")
    );
}

#[tokio::test]
async fn get_command_metadata_answers_a_count_and_completes() {
    let mock = start(MockOptions::default()).await;
    let auth = basic(AUTH_USER, "pw");
    let reqs = capture_requests("test_psrp_get_command_metadata.yml");
    for i in [0, 1] {
        let (status, _, body) = post(mock.addr, "/wsman", Some(&auth), reqs[i].clone()).await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, _, body) = post(mock.addr, "/wsman", Some(&auth), reqs[3].clone()).await;
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = post(mock.addr, "/wsman", Some(&auth), reqs[4].clone()).await;
    assert_eq!(status, 200, "{body}");
    let out = messages(&body);
    let types: Vec<_> = out.iter().map(|(t, _)| *t).collect();
    assert_eq!(
        types,
        vec![MessageType::PipelineOutput, MessageType::PipelineState]
    );
    assert_eq!(clixml_int(&out[0].1, "Count"), 0);
}

#[tokio::test]
async fn an_idle_receive_ends_in_the_operation_timeout_fault() {
    let opts = MockOptions {
        receive_wait: Some(Duration::from_millis(50)),
        ..Default::default()
    };
    let mock = start(opts).await;
    let auth = basic(AUTH_USER, "pw");
    let reqs = capture_requests("test_psrp_multiple_commands.yml");
    post(mock.addr, "/wsman", Some(&auth), reqs[0].clone()).await;
    post(mock.addr, "/wsman", Some(&auth), reqs[1].clone()).await; // takes the handshake
    let (status, _, body) = post(mock.addr, "/wsman", Some(&auth), reqs[2].clone()).await; // nothing left
    assert_eq!(status, 500, "{body}");
    assert_eq!(
        attribute(&body, "WSManFault", "Code").as_deref(),
        Some("2150858793")
    );
}

#[tokio::test]
async fn credentials_are_required_and_checked_and_shells_belong_to_their_creator() {
    let users = vec!["vagrant:pw".parse().unwrap(), "mallory:pw".parse().unwrap()];
    let mock = start(MockOptions {
        users,
        ..Default::default()
    })
    .await;
    let reqs = capture_requests("test_psrp_multiple_commands.yml");
    let (status, headers, _) = post(mock.addr, "/wsman", None, reqs[0].clone()).await;
    assert_eq!(status, 401);
    assert!(headers["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Basic"));
    let (status, _, _) = post(
        mock.addr,
        "/PowerShell",
        Some(&basic("vagrant", "nope")),
        reqs[0].clone(),
    )
    .await;
    assert_eq!(status, 401);
    let (status, _, _) = post(
        mock.addr,
        "/powershell-liveid/",
        Some(&basic("vagrant", "pw")),
        reqs[0].clone(),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _, body) = post(
        mock.addr,
        "/wsman",
        Some(&basic("mallory", "pw")),
        reqs[1].clone(),
    )
    .await;
    assert_eq!(status, 500);
    assert_eq!(attribute(&body, "WSManFault", "Code").as_deref(), Some("5"));
}

#[tokio::test]
async fn unreadable_soap_is_a_fault_not_a_crash() {
    let mock = start(MockOptions::default()).await;
    let (status, _, body) = post(mock.addr, "/wsman", Some(&basic("a", "b")), "<not-soap").await;
    assert_eq!(status, 500);
    assert!(
        element_texts(&body, "Message")[0].contains("could not read this request"),
        "{body}"
    );
}
