//! Row mapping between the SQLite tables and the records: the column lists each query selects
//! and how a row becomes a record. Structured fields are stored as JSON text.

use super::types::RequestState;
use super::{StoreError, StoreResult};
use crate::config::ApprovalKind;
use crate::grants::record::GrantRecord;
use crate::policy::record::PolicyRecord;
use crate::store::RequestRecord;
use rusqlite::Row;

pub(super) fn to_json<T: serde::Serialize>(v: &T) -> StoreResult<String> {
    serde_json::to_string(v).map_err(|e| StoreError::backend("encode", e))
}

pub(super) fn from_json<T: serde::de::DeserializeOwned>(s: &str) -> rusqlite::Result<T> {
    serde_json::from_str(s).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

pub(super) fn approval_name(a: ApprovalKind) -> &'static str {
    match a {
        ApprovalKind::Manual => "manual",
        ApprovalKind::Auto => "auto",
    }
}

pub(super) const POLICY_COLS: &str = "n, scope, approval, approvers, max_hours";

pub(super) fn policy_row(r: &Row<'_>) -> rusqlite::Result<PolicyRecord> {
    let approval: String = r.get(2)?;
    Ok(PolicyRecord {
        id: format!("P-{}", r.get::<_, i64>(0)?),
        scope: from_json(&r.get::<_, String>(1)?)?,
        approval: if approval == "auto" {
            ApprovalKind::Auto
        } else {
            ApprovalKind::Manual
        },
        approvers: r.get(3)?,
        max_hours: r.get(4)?,
    })
}

pub(super) const REQUEST_COLS: &str =
    "r.n, r.requester, r.task, r.policy_id, r.approvers, r.reason, r.hours, \
    r.state, r.comments, r.created_at_ms, r.updated_at_ms, r.pending_expires_at_ms, r.decided_by, \
    (SELECT MAX(g.n) FROM grants g WHERE g.request_n = r.n)";

pub(super) fn request_row(r: &Row<'_>) -> rusqlite::Result<RequestRecord> {
    let state: String = r.get(7)?;
    Ok(RequestRecord {
        id: format!("R-{}", r.get::<_, i64>(0)?),
        requester: r.get(1)?,
        task: r.get(2)?,
        policy_id: r.get(3)?,
        approvers: r.get(4)?,
        reason: r.get(5)?,
        hours: r.get(6)?,
        state: RequestState::parse(&state).unwrap_or(RequestState::Expired),
        comments: from_json(&r.get::<_, String>(8)?)?,
        created_at_ms: r.get(9)?,
        updated_at_ms: r.get(10)?,
        pending_expires_at_ms: r.get(11)?,
        decided_by: r.get(12)?,
        grant_id: r.get::<_, Option<i64>>(13)?.map(|n| format!("G-{n}")),
    })
}

pub(super) const GRANT_COLS: &str =
    "n, request_n, principal, scope, policy_id, starts_at_ms, expires_at_ms, approver";

pub(super) fn grant_row(r: &Row<'_>) -> rusqlite::Result<GrantRecord> {
    Ok(GrantRecord {
        id: format!("G-{}", r.get::<_, i64>(0)?),
        request_id: format!("R-{}", r.get::<_, i64>(1)?),
        principal: r.get(2)?,
        scope: from_json(&r.get::<_, String>(3)?)?,
        policy_id: r.get(4)?,
        starts_at_ms: r.get(5)?,
        expires_at_ms: r.get(6)?,
        approver: r.get(7)?,
    })
}
