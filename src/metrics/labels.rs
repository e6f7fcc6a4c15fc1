//! Metric label values. Every label has a bounded set of values: enums for what the gateway
//! decides, and an interner with a named cap for names that come from traffic or config.

use crate::invocation::Protocol;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use std::collections::HashMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

/// The label value every name beyond a cap, or unsafe in a label, is counted under.
pub const OTHER_LABEL: &str = "other";

/// Names longer than this are counted as `other`; real cmdlet names are far shorter, and the
/// bound lets the lookup lower-case into a stack buffer instead of allocating.
pub const MAX_LABEL_NAME_BYTES: usize = 96;

/// What the gateway did with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    /// Forwarded to the endpoint.
    Allow,
    /// Refused by policy (no grant, denied cmdlet).
    Deny,
    /// Refused by a rate limit.
    Throttle,
    /// Refused because it could not be fully parsed (fail closed).
    Invalid,
    /// Refused because the gateway itself failed (store, audit).
    Error,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Deny => "deny",
            Decision::Throttle => "throttle",
            Decision::Invalid => "invalid",
            Decision::Error => "error",
        }
    }
}

/// Why a call to the endpoint failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UpstreamErrorKind {
    Connect,
    Tls,
    Timeout,
    /// The endpoint answered with something that is not valid HTTP.
    Protocol,
    /// The endpoint answered 5xx.
    Status5xx,
}

impl UpstreamErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            UpstreamErrorKind::Connect => "connect",
            UpstreamErrorKind::Tls => "tls",
            UpstreamErrorKind::Timeout => "timeout",
            UpstreamErrorKind::Protocol => "protocol",
            UpstreamErrorKind::Status5xx => "status_5xx",
        }
    }
}

macro_rules! label_value_from_as_str {
    ($($t:ty),*) => {$(
        impl EncodeLabelValue for $t {
            fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
                encoder.write_str(self.as_str())
            }
        }
    )*};
}

label_value_from_as_str!(Decision, UpstreamErrorKind, Protocol);

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub(crate) struct RequestLabels {
    pub front_door: Protocol,
    pub decision: Decision,
}

/// An interned name as a label value (cloning is a reference-count increment).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct LabelName(pub Arc<str>);

impl EncodeLabelValue for LabelName {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        encoder.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub(crate) struct CmdletLabels {
    pub cmdlet: LabelName,
    pub decision: Decision,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub(crate) struct RuleLabels {
    pub rule: LabelName,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub(crate) struct FrontDoorLabels {
    pub front_door: Protocol,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub(crate) struct UpstreamErrorLabels {
    pub kind: UpstreamErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub(crate) struct ReloadLabels {
    pub result: &'static str,
}

/// Maps names (cmdlets, rule names) to shared label values: the known names always, then the
/// first `max_learned` other distinct names, then `other`. Case-insensitive; label values are
/// lower case. Names with characters unsafe in a label (the encoder does not escape) are
/// `other` too.
#[derive(Debug)]
pub(crate) struct LabelInterner {
    max_learned: usize,
    /// Names learned so far; only changed under the `map` write lock.
    learned: AtomicUsize,
    map: RwLock<HashMap<Box<str>, Arc<str>>>,
    other: Arc<str>,
}

impl LabelInterner {
    pub fn new(known: &[String], max_learned: usize) -> Self {
        let other: Arc<str> = Arc::from(OTHER_LABEL);
        let map = known
            .iter()
            .filter(|n| is_label_safe(n) && n.len() <= MAX_LABEL_NAME_BYTES)
            .map(|n| {
                let lower = n.to_ascii_lowercase();
                (Box::from(lower.as_str()), Arc::from(lower.as_str()))
            })
            .collect();
        LabelInterner {
            max_learned,
            learned: AtomicUsize::new(0),
            map: RwLock::new(map),
            other,
        }
    }

    /// The label value for `name`; allocates only the first time a name is learned.
    pub fn label(&self, name: &str) -> LabelName {
        LabelName(self.lookup(name))
    }

    fn lookup(&self, name: &str) -> Arc<str> {
        let mut buf = [0u8; MAX_LABEL_NAME_BYTES];
        let Some(lower) = lower_into(name, &mut buf) else {
            return self.other.clone();
        };
        if let Some(v) = read(&self.map).get(lower) {
            return v.clone();
        }
        self.learn(lower)
    }

    fn learn(&self, lower: &str) -> Arc<str> {
        let mut map = self.map.write().unwrap_or_else(|p| p.into_inner());
        if let Some(v) = map.get(lower) {
            return v.clone();
        }
        if self.learned.load(Ordering::Relaxed) >= self.max_learned {
            return self.other.clone();
        }
        self.learned.fetch_add(1, Ordering::Relaxed);
        let value: Arc<str> = Arc::from(lower);
        map.insert(Box::from(lower), value.clone());
        value
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|p| p.into_inner())
}

/// Letters, digits and `-_.[]`: everything a cmdlet or rule name needs, nothing to escape.
fn is_label_safe(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.[]".contains(&b))
}

/// `name` in ASCII lower case in `buf`, or `None` when too long or unsafe as a label.
fn lower_into<'b>(name: &str, buf: &'b mut [u8; MAX_LABEL_NAME_BYTES]) -> Option<&'b str> {
    if name.len() > buf.len() || !is_label_safe(name) {
        return None;
    }
    let out = buf.get_mut(..name.len())?;
    for (o, b) in out.iter_mut().zip(name.bytes()) {
        *o = b.to_ascii_lowercase();
    }
    std::str::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_names_always_get_a_label_and_learned_ones_stop_at_the_cap() {
        let i = LabelInterner::new(&["Get-Mailbox".to_string()], 2);
        assert_eq!(&*i.lookup("get-mailbox"), "get-mailbox");
        assert_eq!(&*i.lookup("Set-Mailbox"), "set-mailbox");
        assert_eq!(&*i.lookup("New-Mailbox"), "new-mailbox");
        assert_eq!(
            &*i.lookup("Remove-Mailbox"),
            OTHER_LABEL,
            "third learned name is over the cap"
        );
        assert_eq!(
            &*i.lookup("SET-MAILBOX"),
            "set-mailbox",
            "learned names stay labelled"
        );
        assert_eq!(
            &*i.lookup("GET-MAILBOX"),
            "get-mailbox",
            "known names do not use the cap"
        );
    }

    #[test]
    fn unsafe_or_overlong_names_are_other() {
        let i = LabelInterner::new(&[], 10);
        assert_eq!(&*i.lookup("Get-Mailbox\"} 1\nfake 2"), OTHER_LABEL);
        assert_eq!(
            &*i.lookup(&"a".repeat(MAX_LABEL_NAME_BYTES + 1)),
            OTHER_LABEL
        );
        assert_eq!(
            &*i.lookup(&"a".repeat(MAX_LABEL_NAME_BYTES)),
            "a".repeat(MAX_LABEL_NAME_BYTES)
        );
        assert_eq!(&*i.lookup(""), OTHER_LABEL);
    }
}
