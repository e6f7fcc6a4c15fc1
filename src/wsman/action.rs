//! The WS-Management operation a request performs (`wsa:Action`).

use super::ns;

/// Request actions of PowerShell remoting; anything else is kept as `Other` so the caller can
/// decide (the inspector refuses `Other` on a shell resource).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Action {
    Create,
    Delete,
    Get,
    Enumerate,
    Command,
    Send,
    Receive,
    Signal,
    Connect,
    Disconnect,
    Reconnect,
    /// An action URI this module does not know.
    Other(String),
}

impl Action {
    /// Map an action URI (exact, case-sensitive as WS-Addressing requires).
    pub fn from_uri(uri: &str) -> Action {
        match uri {
            ns::ACTION_CREATE => return Action::Create,
            ns::ACTION_DELETE => return Action::Delete,
            ns::ACTION_GET => return Action::Get,
            ns::ACTION_ENUMERATE => return Action::Enumerate,
            _ => {}
        }
        match uri.strip_prefix(ns::SHELL_ACTION_PREFIX) {
            Some("Command") => Action::Command,
            Some("Send") => Action::Send,
            Some("Receive") => Action::Receive,
            Some("Signal") => Action::Signal,
            Some("Connect") => Action::Connect,
            Some("Disconnect") => Action::Disconnect,
            Some("Reconnect") => Action::Reconnect,
            _ => Action::Other(uri.to_owned()),
        }
    }

    /// A short name for logs and errors.
    pub fn name(&self) -> &str {
        match self {
            Action::Create => "Create",
            Action::Delete => "Delete",
            Action::Get => "Get",
            Action::Enumerate => "Enumerate",
            Action::Command => "Command",
            Action::Send => "Send",
            Action::Receive => "Receive",
            Action::Signal => "Signal",
            Action::Connect => "Connect",
            Action::Disconnect => "Disconnect",
            Action::Reconnect => "Reconnect",
            Action::Other(uri) => uri,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_every_known_uri() {
        assert_eq!(Action::from_uri(ns::ACTION_CREATE), Action::Create);
        assert_eq!(
            Action::from_uri("http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Command"),
            Action::Command
        );
        assert_eq!(
            Action::from_uri("http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Reconnect"),
            Action::Reconnect
        );
    }

    #[test]
    fn case_differences_are_other() {
        let a = Action::from_uri("http://schemas.microsoft.com/wbem/wsman/1/windows/shell/command");
        assert!(matches!(a, Action::Other(_)));
    }
}
