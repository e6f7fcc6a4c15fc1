//! The workflow's errors: each says what was wrong, with which field, and maps to one HTTP status.

use crate::store::StoreError;

/// The class of a failure; the admin API maps each to one status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The input is wrong (400); `field` names it.
    BadInput,
    /// No such request or policy (404).
    NotFound,
    /// The caller may not do this (403): self-approval, not an approver, read-only policy.
    Forbidden,
    /// The subject is in the wrong state (409): already decided, expired, duplicate.
    Conflict,
    /// The store or the audit log failed (503); nothing was acknowledged.
    Unavailable,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct WorkflowError {
    pub kind: ErrorKind,
    /// A stable machine-readable code (`self_approval`, `unknown_task`, ...).
    pub code: &'static str,
    pub message: String,
    /// The input field at fault, for `BadInput`.
    pub field: Option<&'static str>,
}

impl WorkflowError {
    pub fn bad_input(field: &'static str, code: &'static str, message: impl Into<String>) -> Self {
        WorkflowError {
            kind: ErrorKind::BadInput,
            code,
            message: message.into(),
            field: Some(field),
        }
    }
    pub fn new(kind: ErrorKind, code: &'static str, message: impl Into<String>) -> Self {
        WorkflowError {
            kind,
            code,
            message: message.into(),
            field: None,
        }
    }
    pub fn not_found(id: &str) -> Self {
        WorkflowError::new(
            ErrorKind::NotFound,
            "not_found",
            format!("{id} does not exist"),
        )
    }
}

impl From<StoreError> for WorkflowError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(id) => WorkflowError::not_found(&id),
            StoreError::WrongState { .. } => {
                WorkflowError::new(ErrorKind::Conflict, "wrong_state", e.to_string())
            }
            StoreError::AuditRefused(_) => WorkflowError::new(
                ErrorKind::Unavailable,
                "audit_unavailable",
                format!("{e}; nothing was changed"),
            ),
            StoreError::Backend { .. } => WorkflowError::new(
                ErrorKind::Unavailable,
                "store_unavailable",
                format!("{e}; nothing was changed, retry once the store is reachable"),
            ),
        }
    }
}
