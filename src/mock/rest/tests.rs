use super::*;
use crate::invocation::Protocol;
use crate::mock::{MockOptions, MockState};

fn state_with_log(dir: &tempfile::TempDir) -> MockState {
    MockState::new(MockOptions {
        log: Some(dir.path().join("log.jsonl")),
        ..Default::default()
    })
    .unwrap()
}

fn caller() -> Caller<'static> {
    Caller {
        user: "alice",
        protocol: Protocol::Rest,
        tenant: Some("contoso"),
        shell_id: None,
        command_id: None,
    }
}

fn log_lines(dir: &tempfile::TempDir) -> Vec<Value> {
    std::fs::read_to_string(dir.path().join("log.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn routes_invoke_command_and_batch_and_nothing_else() {
    assert_eq!(
        route("/adminapi/beta/contoso/InvokeCommand"),
        Some(Route::InvokeCommand {
            version: "beta",
            tenant: "contoso"
        })
    );
    assert_eq!(
        route("/adminapi/v1.0/t/invokecommand"),
        Some(Route::InvokeCommand {
            version: "v1.0",
            tenant: "t"
        })
    );
    assert_eq!(
        route("/adminapi/beta/t/$batch"),
        Some(Route::Batch {
            version: "beta",
            tenant: "t"
        })
    );
    assert_eq!(
        route("/adminapi/beta/t/%24batch"),
        Some(Route::Batch {
            version: "beta",
            tenant: "t"
        })
    );
    for bad in [
        "/adminapi/beta/t/Mailbox",
        "/adminapi/beta//InvokeCommand",
        "/adminapi/beta/t/InvokeCommand/x",
        "/wsman",
        "/adminapi/beta",
    ] {
        assert_eq!(route(bad), None, "{bad}");
    }
}

#[test]
fn invoke_command_echoes_and_logs_exactly_what_arrived() {
    let dir = tempfile::tempdir().unwrap();
    let state = state_with_log(&dir);
    let body = br#"{"CmdletInput":{"CmdletName":"Exchange\\Set-Mailbox","Parameters":{"Identity":"bob","Flags":[1,"two",{"k":null}],"Confirm":false}}}"#;
    let reply = invoke_command(&state, &caller(), "h", "beta", body);
    assert_eq!(reply.status, 200);
    let expected = json!({"user": "alice", "protocol": "rest", "cmdlet": "Set-Mailbox", "module": "Exchange",
        "params": {"Identity": "bob", "Flags": [1, "two", {"k": null}], "Confirm": false},
        "positional": [], "is_script": false, "shell_id": null, "command_id": null, "tenant": "contoso"});
    assert_eq!(reply.body["value"], json!([expected.clone()]));
    assert_eq!(
        reply.body["@odata.context"],
        "https://h/adminapi/beta/contoso/$metadata#Collection(Exchange.GenericHashTable)"
    );
    assert_eq!(log_lines(&dir), vec![expected]);
}

#[test]
fn a_body_that_is_not_invoke_command_is_a_400_odata_error_and_not_logged() {
    let dir = tempfile::tempdir().unwrap();
    let state = state_with_log(&dir);
    for body in [
        &b"not json"[..],
        br#"{"CmdletInput":{}}"#,
        br#"{"CmdletInput":{"CmdletName":"x","Parameters":[1]}}"#,
    ] {
        let reply = invoke_command(&state, &caller(), "h", "beta", body);
        assert_eq!(reply.status, 400);
        assert_eq!(reply.body["error"]["code"], "BadRequest");
        assert!(reply.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("CmdletInput"));
    }
    assert!(log_lines(&dir).is_empty());
}

#[test]
fn batch_answers_every_item_in_order_with_its_own_status() {
    let dir = tempfile::tempdir().unwrap();
    let state = state_with_log(&dir);
    let body = json!({"requests": [
        {"id": "a", "method": "POST", "url": "https://outlook.office365.com/adminapi/beta/other/InvokeCommand?x=1",
         "body": {"CmdletInput": {"CmdletName": "Get-User"}}},
        {"id": "b", "method": "POST", "url": "/adminapi/beta/contoso/Mailbox", "body": {}},
        {"id": "c", "method": "POST", "url": "/adminapi/beta/contoso/InvokeCommand", "body": {"nope": 1}},
    ]});
    let reply = batch(
        &state,
        &caller(),
        "h",
        "beta",
        &serde_json::to_vec(&body).unwrap(),
    );
    assert_eq!(reply.status, 200);
    let items = reply.body["responses"].as_array().unwrap();
    let got: Vec<_> = items
        .iter()
        .map(|i| (i["id"].clone(), i["status"].clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            (json!("a"), json!(200)),
            (json!("b"), json!(404)),
            (json!("c"), json!(400))
        ]
    );
    assert_eq!(items[0]["body"]["value"][0]["tenant"], "other");
    let logged = log_lines(&dir);
    assert_eq!(logged.len(), 1);
    assert_eq!(logged[0]["cmdlet"], "Get-User");
}

#[test]
fn batch_size_limit_is_enforced_at_its_edge() {
    let state = MockState::new(MockOptions::default()).unwrap();
    let item = json!({"id": "i", "url": "/adminapi/beta/t/InvokeCommand", "body": {"CmdletInput": {"CmdletName": "Get-User"}}});
    let at_limit = json!({"requests": vec![item.clone(); MAX_BATCH_REQUESTS]});
    let reply = batch(
        &state,
        &caller(),
        "h",
        "beta",
        &serde_json::to_vec(&at_limit).unwrap(),
    );
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.body["responses"].as_array().unwrap().len(),
        MAX_BATCH_REQUESTS
    );
    let over = json!({"requests": vec![item; MAX_BATCH_REQUESTS + 1]});
    let reply = batch(
        &state,
        &caller(),
        "h",
        "beta",
        &serde_json::to_vec(&over).unwrap(),
    );
    assert_eq!(reply.status, 400);
    assert!(reply.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("at most 100"));
}
