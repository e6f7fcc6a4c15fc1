//! Commands the gateway refused: on their Command request (never forwarded), or on a later Send
//! (the gateway then ended them on the endpoint with its own Signal terminate).
//!
//! A later Signal (pypsrp and PowerShell close a failed command) must be answered locally: the
//! endpoint does not know the CommandId (never saw it, or already ended it) and would answer
//! with the fault that ends the session.

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;

/// How many refused commands are remembered; the oldest is forgotten first. A forgotten one
/// only means its (rare, late) Signal is forwarded and faulted by the endpoint.
pub const MAX_REFUSED_COMMANDS: usize = 10_000;

#[derive(Debug, Default)]
struct Inner {
    set: HashSet<(String, String)>,
    order: VecDeque<(String, String)>,
}

/// (ShellId, CommandId) pairs, upper case, bounded by [`MAX_REFUSED_COMMANDS`].
#[derive(Debug, Default)]
pub struct RefusedCommands(Mutex<Inner>);

impl RefusedCommands {
    pub fn remember(&self, shell: &str, command: &str) {
        let key = (shell.to_ascii_uppercase(), command.to_ascii_uppercase());
        let mut inner = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if !inner.set.insert(key.clone()) {
            return;
        }
        inner.order.push_back(key);
        while inner.order.len() > MAX_REFUSED_COMMANDS {
            if let Some(old) = inner.order.pop_front() {
                inner.set.remove(&old);
            }
        }
    }

    pub fn contains(&self, shell: &str, command: &str) -> bool {
        let key = (shell.to_ascii_uppercase(), command.to_ascii_uppercase());
        let inner = self.0.lock().unwrap_or_else(|p| p.into_inner());
        inner.set.contains(&key)
    }

    pub fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).set.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_case_insensitively_and_forgets_the_oldest_past_the_bound() {
        let r = RefusedCommands::default();
        r.remember("abc", "def");
        assert!(r.contains("ABC", "DEF"));
        for i in 0..MAX_REFUSED_COMMANDS {
            r.remember("s", &i.to_string());
        }
        assert_eq!(r.len(), MAX_REFUSED_COMMANDS);
        assert!(!r.contains("abc", "def"));
        assert!(r.contains("s", &(MAX_REFUSED_COMMANDS - 1).to_string()));
    }
}
