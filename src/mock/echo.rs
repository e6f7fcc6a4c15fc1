//! What the mock "runs": nothing. Each command produces one deterministic record of what
//! arrived, which is both its output object and its line in the `--log` file, so a test can
//! compare what a client sent with what reached the endpoint, field by field.

use crate::invocation::{Command, Protocol};
use serde_json::{Map, Value};

/// The request-level facts shared by every command of one invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller<'a> {
    /// The authenticated user name, exactly as the client sent it.
    pub user: &'a str,
    pub protocol: Protocol,
    /// REST: the tenant from the path; WinRM: the `DelegatedOrg` query parameter.
    pub tenant: Option<&'a str>,
    /// WinRM only.
    pub shell_id: Option<&'a str>,
    /// WinRM only.
    pub command_id: Option<&'a str>,
}

/// The record of one executed command:
/// `{"user","protocol","cmdlet","module","params","positional","is_script","shell_id","command_id","tenant"}`.
/// `params` maps each name to its value; a name sent twice keeps the last value, as PowerShell
/// would refuse the call anyway.
pub fn received(caller: &Caller<'_>, command: &Command) -> Value {
    let mut params = Map::with_capacity(command.params.len());
    for p in &command.params {
        params.insert(p.name.clone(), p.value.clone());
    }
    let mut record = Map::with_capacity(10);
    record.insert("user".into(), caller.user.into());
    record.insert("protocol".into(), caller.protocol.as_str().into());
    record.insert("cmdlet".into(), command.name.clone().into());
    record.insert("module".into(), opt(command.module.as_deref()));
    record.insert("params".into(), Value::Object(params));
    record.insert(
        "positional".into(),
        Value::Array(command.positional.clone()),
    );
    record.insert("is_script".into(), command.is_script.into());
    record.insert("shell_id".into(), opt(caller.shell_id));
    record.insert("command_id".into(), opt(caller.command_id));
    record.insert("tenant".into(), opt(caller.tenant));
    Value::Object(record)
}

/// The record of a Signal that ended a command before it ran:
/// `{"signal","stage","user","protocol","shell_id","command_id","tenant"}`. It has no `cmdlet`,
/// because nothing ran; `stage` says how far the command had got (`empty`, `incomplete`,
/// `waiting_input`).
pub fn signalled(caller: &Caller<'_>, code: &str, stage: &str) -> Value {
    let mut record = Map::with_capacity(7);
    record.insert("signal".into(), code.into());
    record.insert("stage".into(), stage.into());
    record.insert("user".into(), caller.user.into());
    record.insert("protocol".into(), caller.protocol.as_str().into());
    record.insert("shell_id".into(), opt(caller.shell_id));
    record.insert("command_id".into(), opt(caller.command_id));
    record.insert("tenant".into(), opt(caller.tenant));
    Value::Object(record)
}

fn opt(s: Option<&str>) -> Value {
    s.map_or(Value::Null, |s| Value::String(s.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invocation::Param;
    use serde_json::json;

    #[test]
    fn record_names_every_field_a_test_compares() {
        let command = Command {
            name: "Get-Mailbox".into(),
            module: Some("Exchange".into()),
            params: vec![
                Param {
                    name: "Identity".into(),
                    value: json!("bob"),
                    bare: false,
                },
                Param {
                    name: "Force".into(),
                    value: json!(true),
                    bare: true,
                },
            ],
            positional: vec![json!(1), json!("x")],
            is_script: false,
            has_script_block: false,
        };
        let caller = Caller {
            user: "Alice@Contoso.com",
            protocol: Protocol::Winrm,
            tenant: None,
            shell_id: Some("S1"),
            command_id: Some("C1"),
        };
        assert_eq!(
            received(&caller, &command),
            json!({"user": "Alice@Contoso.com", "protocol": "winrm", "cmdlet": "Get-Mailbox",
                   "module": "Exchange", "params": {"Identity": "bob", "Force": true},
                   "positional": [1, "x"], "is_script": false, "shell_id": "S1",
                   "command_id": "C1", "tenant": null})
        );
    }
}
