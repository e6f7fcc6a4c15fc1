use super::*;
use serde_json::json;

const PATH: &str = "/adminapi/beta/contoso.onmicrosoft.com/InvokeCommand";

fn inspect(path: &str, header: Option<&str>, body: &str) -> Result<Invocation, InspectError> {
    inspect_rest(
        path,
        header,
        body.as_bytes(),
        "Admin@Contoso.com",
        &InspectLimits::default(),
    )
}

#[test]
fn invoke_command_gives_one_statement_with_typed_params() {
    let body = r#"{"CmdletInput":{"CmdletName":"Set-Mailbox","Parameters":{"Identity":"bob","HiddenFromAddressListsEnabled":true,"MaxSendSize":1000,"Emails":["a","b"]}}}"#;
    let inv = inspect(PATH, Some("Set-Mailbox"), body).unwrap();
    assert_eq!(inv.protocol, Protocol::Rest);
    assert_eq!(inv.principal, "admin@contoso.com");
    assert_eq!(inv.tenant.as_deref(), Some("contoso.onmicrosoft.com"));
    let c = &inv.statements[0][0];
    assert_eq!(c.name, "Set-Mailbox");
    let names: Vec<_> = c.params.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Identity",
            "HiddenFromAddressListsEnabled",
            "MaxSendSize",
            "Emails"
        ]
    );
    assert_eq!(c.param("maxsendsize").unwrap().value, json!(1000));
    assert_eq!(c.param("Emails").unwrap().value, json!(["a", "b"]));
}

#[test]
fn odata_annotations_are_not_parameters_but_values_keep_types() {
    let body = r##"{"CmdletInput":{"CmdletName":"Set-Mailbox","Parameters":{"EmailAddresses@odata.type":"#Collection(String)","EmailAddresses":{"@odata.type":"#Exchange.GenericHashTable","add":"x@y"}}}}"##;
    let c = inspect(PATH, None, body)
        .unwrap()
        .statements
        .remove(0)
        .remove(0);
    assert_eq!(c.params.len(), 1);
    assert_eq!(c.params[0].value, json!({"add": "x@y"}));
}

#[test]
fn lower_case_keys_and_names_work() {
    let body = r#"{"cmdletinput":{"cmdletname":"get-mailbox","parameters":{"identity":"x"}}}"#;
    let c = inspect(PATH, Some("Get-Mailbox"), body)
        .unwrap()
        .statements
        .remove(0)
        .remove(0);
    assert_eq!(c.key(), "get-mailbox");
    assert!(c.param("Identity").is_some());
}

#[test]
fn x_cmdlet_name_disagreeing_with_body_is_refused() {
    let body = r#"{"CmdletInput":{"CmdletName":"Remove-Mailbox","Parameters":{}}}"#;
    let e = inspect(PATH, Some("Get-Mailbox"), body).unwrap_err();
    assert!(e.to_string().contains("X-CmdletName"), "{e}");
}

#[test]
fn duplicate_keys_differing_by_case_are_refused() {
    let body = r#"{"CmdletInput":{"CmdletName":"Set-Mailbox","Parameters":{"Identity":"a","IDENTITY":"b"}}}"#;
    assert!(inspect(PATH, None, body)
        .unwrap_err()
        .to_string()
        .contains("given twice"));
    let body = r#"{"CmdletInput":{"CmdletName":"Get-Mailbox","cmdletName":"Remove-Mailbox"}}"#;
    assert!(inspect(PATH, None, body).is_err());
}

#[test]
fn secrets_are_redacted() {
    let body = r#"{"CmdletInput":{"CmdletName":"New-Mailbox","Parameters":{"Password":"enc-blob","Name":"n"}}}"#;
    let c = inspect(PATH, None, body)
        .unwrap()
        .statements
        .remove(0)
        .remove(0);
    assert_eq!(c.param("Password").unwrap().value, json!(REDACTED));
}

#[test]
fn batch_gives_every_inner_request() {
    let body = r#"{"requests":[
        {"id":"1","method":"POST","url":"https://outlook.office365.com/adminapi/beta/contoso.onmicrosoft.com/InvokeCommand","body":{"CmdletInput":{"CmdletName":"Get-Mailbox"}},"headers":{"X-CmdletName":"Get-Mailbox"}},
        {"id":"2","method":"POST","url":"/adminapi/beta/contoso.onmicrosoft.com/InvokeCommand","body":{"CmdletInput":{"CmdletName":"Remove-Mailbox","Parameters":{"Identity":"x"}}}}]}"#;
    let inv = inspect("/adminapi/beta/contoso.onmicrosoft.com/$batch", None, body).unwrap();
    let names: Vec<_> = inv.commands().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["Get-Mailbox", "Remove-Mailbox"]);
}

#[test]
fn batch_inner_urls_must_be_invoke_command_for_the_same_tenant() {
    let item = |url: &str| {
        format!(
            r#"{{"requests":[{{"id":"1","method":"POST","url":"{url}","body":{{"CmdletInput":{{"CmdletName":"Get-Mailbox"}}}}}}]}}"#
        )
    };
    let batch = "/adminapi/beta/contoso.onmicrosoft.com/%24batch";
    assert!(inspect(
        batch,
        None,
        &item("/adminapi/beta/contoso.onmicrosoft.com/Mailbox")
    )
    .is_err());
    let e = inspect(
        batch,
        None,
        &item("/adminapi/beta/other.onmicrosoft.com/InvokeCommand"),
    )
    .unwrap_err();
    assert!(e.to_string().contains("requests[0].url"), "{e}");
}

#[test]
fn batch_inner_header_disagreeing_is_refused() {
    let body = r#"{"requests":[{"id":"1","method":"POST","url":"/adminapi/beta/t/InvokeCommand","body":{"CmdletInput":{"CmdletName":"Remove-Mailbox"}},"headers":{"X-CmdletName":"Get-Mailbox"}}]}"#;
    assert!(inspect("/adminapi/beta/t/$batch", None, body).is_err());
}

#[test]
fn batch_size_limit_at_its_edge() {
    let item = r#"{"id":"1","method":"POST","url":"/adminapi/beta/t/InvokeCommand","body":{"CmdletInput":{"CmdletName":"Get-Mailbox"}}}"#;
    let body = |n: usize| format!(r#"{{"requests":[{}]}}"#, vec![item; n].join(","));
    let limits = InspectLimits {
        max_commands: 2,
        ..InspectLimits::default()
    };
    assert!(inspect_rest(
        "/adminapi/beta/t/$batch",
        None,
        body(2).as_bytes(),
        "u",
        &limits
    )
    .is_ok());
    let e = inspect_rest(
        "/adminapi/beta/t/$batch",
        None,
        body(3).as_bytes(),
        "u",
        &limits,
    )
    .unwrap_err();
    assert_eq!(e.limit_name(), Some("max_commands"));
}

#[test]
fn paths() {
    assert!(is_rest_path("/AdminApi/beta/x/InvokeCommand"));
    assert!(!is_rest_path("/wsman"));
    assert_eq!(
        parse_path("/adminapi/v1.0/t/InvokeCommand?$skiptoken=1").unwrap(),
        RestPath::InvokeCommand { tenant: "t".into() }
    );
    assert!(parse_path("/adminapi/beta/t/Mailbox").is_err());
    assert!(parse_path("/adminapi/beta//InvokeCommand").is_err());
}

#[test]
fn missing_or_wrong_shapes_are_refused() {
    for body in [
        "[]",
        "{}",
        r#"{"CmdletInput":"x"}"#,
        r#"{"CmdletInput":{"Parameters":{}}}"#,
        r#"{"CmdletInput":{"CmdletName":" "}}"#,
        r#"{"CmdletInput":{"CmdletName":"Get-Mailbox","Parameters":[1]}}"#,
        "not json",
    ] {
        assert!(inspect(PATH, None, body).is_err(), "{body}");
    }
}
