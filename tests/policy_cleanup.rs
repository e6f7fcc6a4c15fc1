//! A refused Send leaves nothing behind on the endpoint: the real binary (`serve`, real TLS) in
//! front of the real mock endpoint, whose command log shows what reached it. A fragmented
//! pipeline is refused at its last fragment; the gateway sends its own Signal terminate for
//! the half-built command, answers the client's later Signal itself, and the pool goes on.

mod common;

use bytes::Bytes;
use common::*;
use runspace_gateway::inspect::build::{self, s, CmdSpec};
use runspace_gateway::mock::{MockOptions, MockServer};
use runspace_gateway::psrp::{fragment, message::MessageType};
use runspace_gateway::wsman::signal::SIGNAL_TERMINATE;
use serde_json::Value;
use std::path::Path;
use uuid::Uuid;

const SHELL: &str = "5D2C0E4A-1B3F-4C6D-8E9F-0A1B2C3D4E5F";
const ALICE: &str = "alice@contoso.com";

fn sections(dir: &Path) -> String {
    format!(
        r#"
[pam]
enabled = true
mode = "enforce"

[groups]
pam-approvers = ["bob@contoso.com"]

[[policy]]
task = "Exchange\\New-JournalRule"
approval = "manual"
approvers = "pam-approvers"
max_hours = 8

[store]
path = {:?}

[audit]
path = {:?}
"#,
        dir.join("gateway.db"),
        dir.join("audit.jsonl")
    )
}

fn winrm(envelope: String) -> http::Request<ClientBody> {
    use base64::Engine;
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{ALICE}:pw"));
    http::Request::builder()
        .method("POST")
        .uri("/wsman?PSVersion=5.1")
        .header("host", "localhost")
        .header("content-type", "application/soap+xml;charset=UTF-8")
        .header("authorization", format!("Basic {token}"))
        .body(full(Bytes::from(envelope)))
        .unwrap()
}

fn pipeline(cmd: CmdSpec) -> Vec<u8> {
    let xml = build::create_pipeline_xml(&[vec![cmd]], true);
    build::message(
        MessageType::CreatePipeline,
        Uuid::nil(),
        Uuid::new_v4(),
        xml.as_bytes(),
    )
}

fn mock_log(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Send one request; its status and body text.
async fn exchange(client: &mut HttpClient, envelope: String) -> (u16, String) {
    let r = client.send(winrm(envelope)).await.unwrap();
    let text = String::from_utf8_lossy(r.body()).into_owned();
    (r.status().as_u16(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_fragmented_pipeline_is_terminated_on_the_endpoint_and_the_pool_goes_on() {
    let certs = Certs::new();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("mock.jsonl");
    let mock = MockServer::bind(
        "127.0.0.1:0".parse().unwrap(),
        MockOptions {
            log: Some(log.clone()),
            ..MockOptions::default()
        },
    )
    .await
    .unwrap();
    let mock_url = format!("http://{}", mock.local_addr().unwrap());
    tokio::spawn(mock.run(std::future::pending()));
    let mut config = GatewayConfig::new(&certs, &mock_url);
    config.sections = sections(dir.path());
    let gateway = Gateway::start(&config.text());
    let mut client = HttpClient::connect(gateway.addr, &certs.client_config())
        .await
        .unwrap();

    let cap = build::message(
        MessageType::SessionCapability,
        Uuid::nil(),
        Uuid::nil(),
        b"<Obj RefId=\"0\"/>",
    );
    let create = build::create_envelope(SHELL, &fragment::encode_message(1, &cap, 32_768), false);
    let (status, body) = exchange(&mut client, create).await;
    assert_eq!(status, 200, "{body}");

    // New-JournalRule in fragments: the Command and the middle Sends reach the endpoint.
    let padding = "x".repeat(3_000);
    let journal = CmdSpec::new("New-JournalRule", &[(Some("Name"), &s(&padding))]);
    let payloads = build::fragment_payloads(5, &pipeline(journal), 1_000, 1);
    assert!(payloads.len() >= 3, "the test needs several fragments");
    let id = Uuid::new_v4().to_string().to_uppercase();
    let (status, body) = exchange(
        &mut client,
        build::command_envelope(SHELL, &id, &payloads[0]),
    )
    .await;
    assert_eq!(status, 200, "the endpoint accepted the Command: {body}");
    let (last, middle) = payloads[1..].split_last().unwrap();
    for p in middle {
        let (status, body) =
            exchange(&mut client, build::send_envelope(SHELL, Some(&id), &[p])).await;
        assert_eq!(status, 200, "{body}");
    }

    // The completing Send: the client gets the refusal, the endpoint the gateway's Signal.
    let (status, body) =
        exchange(&mut client, build::send_envelope(SHELL, Some(&id), &[last])).await;
    assert_eq!(status, 500);
    assert!(body.contains("New-JournalRule requires approval"), "{body}");
    let logged = mock_log(&log);
    assert_eq!(logged.len(), 1, "{logged:#?}");
    assert_eq!(logged[0]["signal"], SIGNAL_TERMINATE);
    assert_eq!(
        logged[0]["stage"], "incomplete",
        "the pipeline never started"
    );
    assert_eq!(logged[0]["command_id"], id.as_str());
    assert_eq!(logged[0]["shell_id"], SHELL);
    assert_eq!(logged[0]["user"], ALICE);

    // The client closes the failed command: answered by the gateway, so the endpoint sees no
    // second Signal (it would fault: the command is gone).
    let signal = build::signal_envelope(SHELL, &id, SIGNAL_TERMINATE);
    let (status, body) = exchange(&mut client, signal).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("SignalResponse"), "{body}");
    assert_eq!(
        mock_log(&log).len(),
        1,
        "no second Signal reached the endpoint"
    );

    // The pool goes on: an allowed pipeline runs on the endpoint.
    let other = Uuid::new_v4().to_string().to_uppercase();
    let get = fragment::encode_message(6, &pipeline(CmdSpec::new("Get-Mailbox", &[])), 32_768);
    let (status, body) = exchange(&mut client, build::command_envelope(SHELL, &other, &get)).await;
    assert_eq!(status, 200, "{body}");
    let logged = mock_log(&log);
    assert_eq!(logged.len(), 2, "{logged:#?}");
    assert_eq!(logged[1]["cmdlet"], "Get-Mailbox");
    assert_eq!(logged[1]["command_id"], other.as_str());
    assert!(logged.iter().all(|r| r["cmdlet"] != "New-JournalRule"));
}
