//! The records the store keeps, besides the shared `PolicyRecord` and `GrantRecord`.

use crate::clock::Millis;
use crate::config::ApprovalKind;
use crate::grants::record::GrantScope;
use crate::policy::record::Scope;
use serde::{Deserialize, Serialize};

/// The life of a request (the Microsoft 365 states, plus `revoked`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RequestState {
    Pending,
    Approved,
    Denied,
    Expired,
    Revoked,
}

impl RequestState {
    pub const ALL: [RequestState; 5] = [
        RequestState::Pending,
        RequestState::Approved,
        RequestState::Denied,
        RequestState::Expired,
        RequestState::Revoked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RequestState::Pending => "pending",
            RequestState::Approved => "approved",
            RequestState::Denied => "denied",
            RequestState::Expired => "expired",
            RequestState::Revoked => "revoked",
        }
    }

    pub fn parse(s: &str) -> Option<RequestState> {
        RequestState::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(s))
    }
}

impl std::fmt::Display for RequestState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A comment left by the requester or an approver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comment {
    pub author: String,
    pub text: String,
    pub at_ms: Millis,
}

/// An elevated-access request (`New-ElevatedAccessRequest`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// `R-<n>`.
    pub id: String,
    /// Lower-case principal (UPN) who asked.
    pub requester: String,
    /// The task as requested (`New-JournalRule` or `Exchange\New-JournalRule`).
    pub task: String,
    /// The policy that covered the task when the request was made.
    pub policy_id: String,
    /// The approver group of that policy, kept so a later policy edit cannot change who approves.
    pub approvers: String,
    pub reason: String,
    pub hours: u32,
    pub state: RequestState,
    pub comments: Vec<Comment>,
    pub created_at_ms: Millis,
    pub updated_at_ms: Millis,
    /// When a pending request expires.
    pub pending_expires_at_ms: Millis,
    /// Who approved, denied or revoked it (`auto` for auto policies).
    pub decided_by: Option<String>,
    /// The grant an approval produced.
    pub grant_id: Option<String>,
}

/// A request before it has an id.
#[derive(Debug, Clone)]
pub struct NewRequest {
    pub requester: String,
    pub task: String,
    pub policy_id: String,
    pub approvers: String,
    pub reason: String,
    pub hours: u32,
    /// `Pending` for manual policies, `Approved` for auto ones.
    pub state: RequestState,
    pub created_at_ms: Millis,
    pub pending_expires_at_ms: Millis,
    /// `auto` when an auto policy approves at creation.
    pub decided_by: Option<String>,
}

/// A policy before it has an id.
#[derive(Debug, Clone)]
pub struct NewPolicy {
    pub scope: Scope,
    pub approval: ApprovalKind,
    pub approvers: String,
    pub max_hours: u32,
}

/// A grant before it has an id; the request id is filled in by the store.
#[derive(Debug, Clone)]
pub struct NewGrant {
    pub principal: String,
    pub scope: GrantScope,
    pub policy_id: String,
    pub starts_at_ms: Millis,
    pub expires_at_ms: Millis,
    pub approver: String,
}

/// One state change of a request, with what it creates or ends.
#[derive(Debug, Clone)]
pub struct Transition {
    pub request_id: String,
    pub from: RequestState,
    pub to: RequestState,
    pub actor: String,
    pub comment: Option<String>,
    pub at_ms: Millis,
    /// Created on approval.
    pub grant: Option<NewGrant>,
    /// On revoke: end the request's grant at `at_ms`.
    pub revoke_grant: bool,
}

/// One line of history: who changed what, from which state to which.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub at_ms: Millis,
    /// `R-1`, `P-1` or `G-1`.
    pub subject: String,
    /// `created`, `approved`, `denied`, `expired`, `revoked`, `removed`.
    pub action: String,
    pub actor: String,
    pub from_state: Option<String>,
    pub to_state: Option<String>,
    pub detail: Option<String>,
}

/// Where a notification goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// An e-mail to this address.
    Email(String),
    /// The configured webhook.
    Webhook,
}

/// A notification to deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    pub channel: Channel,
    pub subject: String,
    pub body: String,
    pub created_at_ms: Millis,
}

/// A queued notification and its delivery attempts so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxItem {
    pub id: i64,
    pub message: OutboxMessage,
    pub attempts: u32,
}

/// `R-12` -> 12 for prefix `R`; `None` when the id is malformed.
pub fn parse_id(prefix: char, id: &str) -> Option<i64> {
    let rest = id.strip_prefix(prefix)?.strip_prefix('-')?;
    let valid = !rest.is_empty() && rest.len() <= 18 && rest.bytes().all(|b| b.is_ascii_digit());
    if !valid {
        return None;
    }
    rest.parse().ok().filter(|n| *n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_only_in_their_exact_form() {
        assert_eq!(parse_id('R', "R-12"), Some(12));
        for bad in [
            "R12",
            "R-",
            "R--1",
            "R-1a",
            "P-1",
            "R-0",
            "R-+1",
            "R-9999999999999999999",
            "",
        ] {
            assert_eq!(parse_id('R', bad), None, "{bad}");
        }
    }

    #[test]
    fn states_round_trip_through_their_names() {
        for s in RequestState::ALL {
            assert_eq!(RequestState::parse(s.as_str()), Some(s));
        }
        assert_eq!(RequestState::parse("PENDING"), Some(RequestState::Pending));
        assert_eq!(RequestState::parse("granted"), None);
    }
}
