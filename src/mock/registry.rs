//! The mock's shells by ShellId, each with the signal that wakes a Receive waiting on it.

use super::shells::Shell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::Notify;

/// Shells held at once; Create beyond this is refused with a fault.
pub const MAX_SHELLS: usize = 10_000;

/// One shell and the signal that wakes its waiting Receives.
#[derive(Debug)]
pub struct ShellSlot {
    shell: Mutex<Shell>,
    output: Notify,
}

/// All shells of the mock, by ShellId.
#[derive(Debug, Default)]
pub struct Shells {
    map: Mutex<HashMap<String, Arc<ShellSlot>>>,
}

impl ShellSlot {
    pub(super) fn lock(&self) -> MutexGuard<'_, Shell> {
        self.shell
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Woken whenever a request may have produced output for this shell.
    pub(super) fn output(&self) -> &Notify {
        &self.output
    }

    pub(super) fn owner(&self) -> String {
        self.lock().owner.clone()
    }
}

impl Shells {
    fn map(&self) -> MutexGuard<'_, HashMap<String, Arc<ShellSlot>>> {
        self.map
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(super) fn get(&self, id: &str) -> Option<Arc<ShellSlot>> {
        self.map().get(&id.to_uppercase()).cloned()
    }

    /// Add a shell; false when the id exists or [`MAX_SHELLS`] is reached.
    pub(super) fn insert(&self, id: String, shell: Shell) -> bool {
        let mut map = self.map();
        if map.len() >= MAX_SHELLS || map.contains_key(&id) {
            return false;
        }
        map.insert(
            id,
            Arc::new(ShellSlot {
                shell: Mutex::new(shell),
                output: Notify::new(),
            }),
        );
        true
    }

    pub(super) fn remove(&self, id: &str) {
        if let Some(slot) = self.map().remove(&id.to_uppercase()) {
            slot.output.notify_waiters();
        }
    }

    /// Shells open now.
    pub fn len(&self) -> usize {
        self.map().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests;
