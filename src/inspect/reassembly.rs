//! Reassembly of PSRP fragments into messages, for one shell (protocol.md §3.1).
//!
//! Buffers are keyed by (pool or pipeline, ObjectId). FragmentIds must be consecutive from 0; a
//! fragment seen before is accepted only if it is byte-identical (a robust-connection
//! retransmission) and otherwise refused. Every buffer is bounded by the limits below.

use crate::clock::Millis;
use crate::inspect::error::{InspectError, Layer};
use crate::psrp::fragment::Fragment;
use std::collections::HashMap;

const L: Layer = Layer::Fragment;

/// Which stream of a shell a fragment belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// The RunspacePool (no CommandId).
    Pool,
    /// A pipeline, by upper-case CommandId.
    Pipeline(String),
}

/// Reassembly limits (from `[inspect]`).
#[derive(Debug, Clone, Copy)]
pub struct ReassemblyLimits {
    /// `inspect.max_message_bytes`: largest reassembled message.
    pub max_message_bytes: usize,
    /// `inspect.max_pending_bytes_per_shell`: bytes held for incomplete messages.
    pub max_pending_bytes: usize,
    /// `inspect.max_pending_messages_per_shell`: incomplete messages held.
    pub max_pending_messages: usize,
    /// `inspect.reassembly_timeout_ms`: an incomplete message idle longer is dropped.
    pub timeout_ms: u64,
}

impl ReassemblyLimits {
    pub fn from_config(l: &crate::config::InspectLimits) -> Self {
        ReassemblyLimits {
            max_message_bytes: l.max_message_bytes,
            max_pending_bytes: l.max_pending_bytes_per_shell,
            max_pending_messages: l.max_pending_messages_per_shell,
            timeout_ms: l.reassembly_timeout_ms,
        }
    }
}

/// One incomplete message.
#[derive(Debug)]
struct Pending {
    data: Vec<u8>,
    /// End offset in `data` of each fragment received, by FragmentId.
    ends: Vec<usize>,
    /// When the last fragment arrived (for the timeout).
    last_ms: Millis,
}

impl Pending {
    fn fragment(&self, id: usize) -> Option<&[u8]> {
        let start = if id == 0 { 0 } else { *self.ends.get(id - 1)? };
        self.data.get(start..*self.ends.get(id)?)
    }
}

/// The incomplete messages of one shell.
#[derive(Debug, Default)]
pub struct Reassembly {
    pending: HashMap<(Target, u64), Pending>,
    /// Sum of `data.len()` over `pending`.
    pending_bytes: usize,
}

impl Reassembly {
    /// Feed one fragment. Returns the whole message when this fragment completes one.
    pub fn push(
        &mut self,
        target: &Target,
        f: &Fragment<'_>,
        now: Millis,
        limits: &ReassemblyLimits,
    ) -> Result<Option<Vec<u8>>, InspectError> {
        self.expire(now, limits.timeout_ms);
        let key = (target.clone(), f.object_id);
        let result = self.push_keyed(&key, f, now, limits);
        if result.is_err() {
            self.remove(&key);
        }
        result
    }

    fn push_keyed(
        &mut self,
        key: &(Target, u64),
        f: &Fragment<'_>,
        now: Millis,
        limits: &ReassemblyLimits,
    ) -> Result<Option<Vec<u8>>, InspectError> {
        let id = usize::try_from(f.fragment_id).unwrap_or(usize::MAX);
        if f.start != (id == 0) {
            return Err(fragment_error(
                f,
                "Start flag must be set on FragmentId 0 and only there",
            ));
        }
        let Some(p) = self.pending.get(key) else {
            return self.first(key, f, now, limits);
        };
        if id < p.ends.len() {
            return match p.fragment(id) {
                Some(seen) if seen == f.blob => Ok(None),
                _ => Err(fragment_error(f, "retransmitted with different content")),
            };
        }
        if id > p.ends.len() {
            return Err(fragment_error(
                f,
                &format!("gap: expected FragmentId {}", p.ends.len()),
            ));
        }
        let size = p.data.len() + f.blob.len();
        check_message_size(size, limits)?;
        self.reserve(f.blob.len(), limits)?;
        let p = self
            .pending
            .get_mut(key)
            .ok_or_else(|| fragment_error(f, "lost buffer"))?;
        p.data.extend_from_slice(f.blob);
        p.ends.push(p.data.len());
        p.last_ms = now;
        if f.end {
            return Ok(self.remove(key).map(|p| p.data));
        }
        Ok(None)
    }

    /// The first fragment of a message.
    fn first(
        &mut self,
        key: &(Target, u64),
        f: &Fragment<'_>,
        now: Millis,
        limits: &ReassemblyLimits,
    ) -> Result<Option<Vec<u8>>, InspectError> {
        if !f.start {
            return Err(fragment_error(
                f,
                "continuation with no message started (never sent, or dropped after inspect.reassembly_timeout_ms)",
            ));
        }
        check_message_size(f.blob.len(), limits)?;
        if f.end {
            return Ok(Some(f.blob.to_vec()));
        }
        if self.pending.len() >= limits.max_pending_messages {
            return Err(InspectError::limit(
                L,
                "max_pending_messages_per_shell",
                limits.max_pending_messages,
                "too many incomplete messages in this shell",
            ));
        }
        self.reserve(f.blob.len(), limits)?;
        self.pending.insert(
            key.clone(),
            Pending {
                data: f.blob.to_vec(),
                ends: vec![f.blob.len()],
                last_ms: now,
            },
        );
        Ok(None)
    }

    fn reserve(&mut self, extra: usize, limits: &ReassemblyLimits) -> Result<(), InspectError> {
        let total = self.pending_bytes.saturating_add(extra);
        if total > limits.max_pending_bytes {
            return Err(InspectError::limit(
                L,
                "max_pending_bytes_per_shell",
                limits.max_pending_bytes,
                format!("{total} bytes of incomplete messages in this shell"),
            ));
        }
        self.pending_bytes = total;
        Ok(())
    }

    fn remove(&mut self, key: &(Target, u64)) -> Option<Pending> {
        let p = self.pending.remove(key)?;
        self.pending_bytes = self.pending_bytes.saturating_sub(p.data.len());
        Some(p)
    }

    /// Drop every incomplete message of a pipeline (on Signal).
    pub fn drop_target(&mut self, target: &Target) {
        let keys: Vec<_> = self
            .pending
            .keys()
            .filter(|(t, _)| t == target)
            .cloned()
            .collect();
        for k in keys {
            self.remove(&k);
        }
    }

    /// Drop incomplete messages idle longer than `timeout_ms`.
    pub fn expire(&mut self, now: Millis, timeout_ms: u64) {
        let timeout = i64::try_from(timeout_ms).unwrap_or(i64::MAX);
        let stale: Vec<_> = self
            .pending
            .iter()
            .filter(|(_, p)| now.saturating_sub(p.last_ms) > timeout)
            .map(|(k, _)| k.clone())
            .collect();
        for k in stale {
            self.remove(&k);
        }
    }

    /// Bytes held for incomplete messages.
    pub fn pending_bytes(&self) -> usize {
        self.pending_bytes
    }

    /// Number of incomplete messages.
    pub fn pending_messages(&self) -> usize {
        self.pending.len()
    }
}

fn check_message_size(size: usize, limits: &ReassemblyLimits) -> Result<(), InspectError> {
    if size > limits.max_message_bytes {
        return Err(InspectError::limit(
            L,
            "max_message_bytes",
            limits.max_message_bytes,
            format!("message reaches {size} bytes"),
        ));
    }
    Ok(())
}

fn fragment_error(f: &Fragment<'_>, problem: &str) -> InspectError {
    InspectError::malformed(
        L,
        format!("ObjectId {} FragmentId {}", f.object_id, f.fragment_id),
        problem,
    )
}

#[cfg(test)]
#[path = "reassembly_tests.rs"]
mod tests;
