//! The one normalised shape that both front doors (WinRM/PSRP and the REST admin API) produce.
//!
//! Everything downstream (`decide`, audit, rate limits) sees only this type, so a policy cannot be
//! bypassed by choosing the other protocol.

use serde::{Deserialize, Serialize};

/// Which front door an invocation came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// WS-Management SOAP carrying PSRP (`/wsman`, `/PowerShell`, `/powershell-liveid`).
    Winrm,
    /// The Exchange Online admin API (`/adminapi/{ver}/{tenant}/InvokeCommand` and `$batch`).
    Rest,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Winrm => "winrm",
            Protocol::Rest => "rest",
        }
    }
}

/// One request's worth of cmdlets, as the endpoint will run them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Invocation {
    /// Who is calling, normalised to lower case (a UPN or a user name).
    pub principal: String,
    pub protocol: Protocol,
    /// The tenant from the REST path, or the `DelegatedOrg` query parameter on WinRM.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub tenant: Option<String>,
    /// WinRM ShellId (upper-case GUID); `None` for REST.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub shell_id: Option<String>,
    /// WinRM CommandId (upper-case GUID); `None` for REST.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub command_id: Option<String>,
    /// Statements in execution order; each statement is a pipeline of commands (`a | b`).
    /// Every command of every statement must be allowed for the invocation to be allowed.
    pub statements: Vec<Vec<Command>>,
}

impl Invocation {
    /// Every command of every statement, in order.
    pub fn commands(&self) -> impl Iterator<Item = &Command> {
        self.statements.iter().flatten()
    }
}

/// One command of a pipeline, normalised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Command {
    /// The cmdlet name with the module qualifier removed, as sent (case kept for display).
    /// Compare with [`Command::key`], never with this field.
    pub name: String,
    /// The module qualifier (`Exchange` in `Exchange\New-JournalRule`), if one was given.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub module: Option<String>,
    /// Named parameters, names without `-` and `:`, in the order they were sent.
    /// A bare `-Name` with no value (a switch, or a name whose value is the next positional)
    /// is recorded with `Value::Bool(true)` and listed in `bare_names` too.
    pub params: Vec<Param>,
    /// Positional arguments, in order.
    pub positional: Vec<Value>,
    /// `true` when `name` is script text rather than a command name (PSRP `IsScript`).
    pub is_script: bool,
    /// `true` when any argument or pipeline input carried a script block (`<SBK>`).
    #[serde(default)]
    pub has_script_block: bool,
}

impl Command {
    /// The case-insensitive comparison key of the command name (ASCII lower case).
    pub fn key(&self) -> String {
        self.name.to_ascii_lowercase()
    }

    /// Look a parameter up by name, case-insensitively.
    pub fn param(&self, name: &str) -> Option<&Param> {
        self.params
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
    }
}

/// A named parameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Param {
    pub name: String,
    pub value: Value,
    /// `true` for a bare `-Name` (no value given on the wire).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub bare: bool,
}

/// A parameter value, typed like JSON. Secrets never carry their content.
pub type Value = serde_json::Value;

/// The placeholder written wherever a secret value stood.
pub const REDACTED: &str = "[redacted]";
