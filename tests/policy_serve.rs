//! Enforcement through the real binary: `serve` with `[pam] enabled = true` on port 0, over TLS,
//! in front of a recording endpoint, with a real SQLite store and audit file in a temp dir.

mod common;

use bytes::Bytes;
use common::*;
use runspace_gateway::inspect::build::{self, CmdSpec};
use runspace_gateway::psrp::{fragment, message::MessageType};
use uuid::Uuid;

const SHELL: &str = "0C1E6B0E-6A53-4B3C-9D0A-1E2F3A4B5C6D";

fn sections(dir: &std::path::Path) -> String {
    format!(
        r#"
[pam]
enabled = true
mode = "enforce"
system_accounts = ["svc-backup@contoso.com"]

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

fn basic(user: &str) -> String {
    use base64::Engine;
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:pw"));
    format!("Basic {token}")
}

fn post(
    uri: &str,
    user: &str,
    content_type: &str,
    body: impl Into<Bytes>,
) -> http::Request<ClientBody> {
    http::Request::builder()
        .method("POST")
        .uri(uri)
        .header("host", "localhost")
        .header("content-type", content_type)
        .header("authorization", basic(user))
        .body(full(body))
        .unwrap()
}

fn winrm(user: &str, envelope: String) -> http::Request<ClientBody> {
    post(
        "/wsman?PSVersion=5.1",
        user,
        "application/soap+xml;charset=UTF-8",
        envelope,
    )
}

fn create() -> String {
    let cap = build::message(
        MessageType::SessionCapability,
        Uuid::nil(),
        Uuid::nil(),
        b"<Obj RefId=\"0\"/>",
    );
    build::create_envelope(SHELL, &fragment::encode_message(1, &cap, 32_768), false)
}

fn command(cmd: &str) -> String {
    let xml = build::create_pipeline_xml(&[vec![CmdSpec::new(cmd, &[])]], true);
    let msg = build::message(
        MessageType::CreatePipeline,
        Uuid::nil(),
        Uuid::new_v4(),
        xml.as_bytes(),
    );
    let id = Uuid::new_v4().to_string().to_uppercase();
    build::command_envelope(SHELL, &id, &fragment::encode_message(3, &msg, 32_768))
}

#[tokio::test]
async fn covered_cmdlets_never_reach_the_endpoint_and_the_pool_survives() {
    let certs = Certs::new();
    let state = tempfile::tempdir().unwrap();
    let mut upstream = Upstream::start(ok).await;
    let mut config = GatewayConfig::new(&certs, &upstream.url);
    config.sections = sections(state.path());
    let gateway = Gateway::start(&config.text());
    let mut client = HttpClient::connect(gateway.addr, &certs.client_config())
        .await
        .unwrap();
    let alice = "alice@contoso.com";

    let r = client.send(winrm(alice, create())).await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(upstream
        .next_seen()
        .await
        .body
        .windows(5)
        .any(|w| w == b"Shell"));

    let r = client
        .send(winrm(alice, command("New-JournalRule")))
        .await
        .unwrap();
    assert_eq!(r.status(), 500);
    let text = String::from_utf8_lossy(r.body()).into_owned();
    assert!(
        text.contains("New-JournalRule requires approval (policy C-1, approvers pam-approvers)"),
        "{text}"
    );
    assert!(text.contains("Code=\"5\""), "{text}");
    assert!(
        upstream.saw_nothing(),
        "the refused Command reached the endpoint"
    );

    let r = client
        .send(winrm(alice, command("Get-Mailbox")))
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        200,
        "the same connection and pool go on after a refusal"
    );
    let seen = upstream.next_seen().await;
    assert!(String::from_utf8_lossy(&seen.body).contains("CommandLine"));

    let rest = "/adminapi/beta/contoso.onmicrosoft.com/InvokeCommand";
    let body = r#"{"CmdletInput":{"CmdletName":"New-JournalRule","Parameters":{"Name":"x"}}}"#;
    let r = client
        .send(post(rest, alice, "application/json", body))
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(r.headers()["x-exceptiontype"], "GatewayPolicyBlocked");
    assert!(
        upstream.saw_nothing(),
        "the refused REST call reached the endpoint"
    );

    let r = client
        .send(post(
            rest,
            "svc-backup@contoso.com",
            "application/json",
            body,
        ))
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "system accounts pass");
    upstream.next_seen().await;

    let audit = std::fs::read_to_string(state.path().join("audit.jsonl")).unwrap();
    let decisions: Vec<&str> = audit
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["decision"].as_str().map(str::to_owned))
        .map(|d| match d.as_str() {
            "deny" => "deny",
            "allow" => "allow",
            _ => "other",
        })
        .collect();
    assert_eq!(decisions, ["deny", "allow", "deny", "allow"], "{audit}");
}

#[tokio::test]
async fn a_role_pattern_that_does_not_compile_stops_the_start_with_its_key() {
    let certs = Certs::new();
    let state = tempfile::tempdir().unwrap();
    let mut config = GatewayConfig::new(&certs, "http://127.0.0.1:9");
    config.sections =
        sections(state.path()).replace("[store]", "[roles]\nbad = [\"Get-[x]\"]\n\n[store]");
    let (status, stderr) = Gateway::start_expecting_failure(&config.text());
    assert!(!status.success());
    assert!(stderr.contains("roles.bad[0]"), "{stderr}");
}
