//! The mock endpoint's REST side over real HTTP: the admin API response shape, `$batch`, the
//! log file, and what it refuses.

mod mock_common;

use mock_common::*;
use runspace_gateway::mock::MockOptions;
use serde_json::{json, Value};

#[tokio::test]
async fn invoke_command_answers_the_odata_shape_and_logs_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("mock.jsonl");
    let mock = start(MockOptions {
        log: Some(log.clone()),
        ..Default::default()
    })
    .await;
    let body = json!({"CmdletInput": {"CmdletName": "Get-Mailbox", "Parameters": {"Identity": "bob", "ResultSize": "Unlimited"}}});
    let (status, headers, text) = post(
        mock.addr,
        "/adminapi/beta/contoso/InvokeCommand",
        Some(&basic("alice", "x")),
        body.to_string(),
    )
    .await;
    assert_eq!(status, 200, "{text}");
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json;odata.metadata=minimal"));
    let reply: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        reply["@odata.context"],
        format!(
            "https://{}/adminapi/beta/contoso/$metadata#Collection(Exchange.GenericHashTable)",
            mock.addr
        )
    );
    assert_eq!(reply["@adminapi.warnings"], json!([]));
    let record = json!({"user": "alice", "protocol": "rest", "cmdlet": "Get-Mailbox", "module": null,
        "params": {"Identity": "bob", "ResultSize": "Unlimited"}, "positional": [], "is_script": false,
        "shell_id": null, "command_id": null, "tenant": "contoso"});
    assert_eq!(reply["value"], json!([record.clone()]));
    let lines: Vec<Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines, vec![record]);
}

#[tokio::test]
async fn batch_over_http_answers_each_item() {
    let mock = start(MockOptions::default()).await;
    let body = json!({"requests": [
        {"id": "1", "method": "POST", "url": "/adminapi/beta/contoso/InvokeCommand", "body": {"CmdletInput": {"CmdletName": "Get-User"}}},
        {"id": "2", "method": "POST", "url": "/adminapi/beta/contoso/InvokeCommand", "body": {"CmdletInput": {"CmdletName": "Get-Group"}}}
    ]});
    let (status, _, text) = post(
        mock.addr,
        "/adminapi/beta/contoso/$batch",
        Some(&basic("a", "b")),
        body.to_string(),
    )
    .await;
    assert_eq!(status, 200, "{text}");
    let reply: Value = serde_json::from_str(&text).unwrap();
    let cmdlets: Vec<_> = reply["responses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["body"]["value"][0]["cmdlet"].clone())
        .collect();
    assert_eq!(cmdlets, vec![json!("Get-User"), json!("Get-Group")]);
}

#[tokio::test]
async fn bearer_tokens_name_the_caller_on_rest() {
    use base64::Engine;
    let mock = start(MockOptions::default()).await;
    let claims =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"upn":"carol@contoso.com"}"#);
    let auth = format!("Bearer eyJhbGciOiJub25lIn0.{claims}.x");
    let body = json!({"CmdletInput": {"CmdletName": "Get-User"}});
    let (status, _, text) = post(
        mock.addr,
        "/adminapi/beta/t/InvokeCommand",
        Some(&auth),
        body.to_string(),
    )
    .await;
    assert_eq!(status, 200, "{text}");
    let reply: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(reply["value"][0]["user"], "carol@contoso.com");
}

#[tokio::test]
async fn wrong_paths_methods_and_credentials_are_refused() {
    let mock = start(MockOptions {
        users: vec!["alice:pw".parse().unwrap()],
        ..Default::default()
    })
    .await;
    let body = json!({"CmdletInput": {"CmdletName": "Get-User"}}).to_string();
    let (status, _, _) = post(
        mock.addr,
        "/adminapi/beta/t/Mailbox",
        Some(&basic("alice", "pw")),
        body.clone(),
    )
    .await;
    assert_eq!(status, 404);
    let (status, _, _) = post(
        mock.addr,
        "/elsewhere",
        Some(&basic("alice", "pw")),
        body.clone(),
    )
    .await;
    assert_eq!(status, 404);
    let (status, _, _) = post(
        mock.addr,
        "/adminapi/beta/t/InvokeCommand",
        Some(&basic("alice", "no")),
        body.clone(),
    )
    .await;
    assert_eq!(status, 401);
    let (status, _, text) = post(
        mock.addr,
        "/adminapi/beta/t/InvokeCommand",
        Some(&basic("alice", "pw")),
        "{",
    )
    .await;
    assert_eq!(status, 400);
    let reply: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(reply["error"]["code"], "BadRequest");
}
