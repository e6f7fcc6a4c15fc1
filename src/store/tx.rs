//! The SQLite store's steps inside one write transaction: history lines, outbox messages,
//! grants made and ended, and reading a request back as committed.

use super::rows::*;
use super::types::*;
use super::{StoreError, StoreResult};
use crate::clock::Millis;
use crate::grants::record::GrantRecord;
use rusqlite::{params, Connection, OptionalExtension, Transaction};

/// Append one history line inside the caller's transaction.
pub(super) fn record(tx: &Transaction<'_>, h: &HistoryEntry) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO history (at_ms, subject, action, actor, from_state, to_state, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            h.at_ms,
            h.subject,
            h.action,
            h.actor,
            h.from_state,
            h.to_state,
            h.detail
        ],
    )
    .map_err(|e| StoreError::backend("history", e))?;
    Ok(())
}

pub(super) fn history_line(
    at_ms: Millis,
    subject: &str,
    action: &str,
    actor: &str,
) -> HistoryEntry {
    HistoryEntry {
        at_ms,
        subject: subject.to_string(),
        action: action.to_string(),
        actor: actor.to_string(),
        from_state: None,
        to_state: None,
        detail: None,
    }
}

pub(super) fn enqueue(tx: &Transaction<'_>, messages: &[OutboxMessage]) -> StoreResult<()> {
    for m in messages {
        tx.execute(
            "INSERT INTO outbox (channel, subject, body, created_at_ms, next_attempt_ms)
             VALUES (?1, ?2, ?3, ?4, ?4)",
            params![to_json(&m.channel)?, m.subject, m.body, m.created_at_ms],
        )
        .map_err(|e| StoreError::backend("outbox", e))?;
    }
    Ok(())
}

pub(super) fn insert_grant(
    tx: &Transaction<'_>,
    request_n: i64,
    g: &NewGrant,
) -> StoreResult<GrantRecord> {
    tx.execute(
        "INSERT INTO grants (request_n, principal, scope, policy_id, starts_at_ms, expires_at_ms,
         approver) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            request_n,
            g.principal,
            to_json(&g.scope)?,
            g.policy_id,
            g.starts_at_ms,
            g.expires_at_ms,
            g.approver
        ],
    )
    .map_err(|e| StoreError::backend("grant", e))?;
    let grant = GrantRecord {
        id: format!("G-{}", tx.last_insert_rowid()),
        principal: g.principal.clone(),
        scope: g.scope.clone(),
        policy_id: g.policy_id.clone(),
        starts_at_ms: g.starts_at_ms,
        expires_at_ms: g.expires_at_ms,
        request_id: format!("R-{request_n}"),
        approver: g.approver.clone(),
    };
    let mut h = history_line(g.starts_at_ms, &grant.id, "granted", &g.approver);
    h.detail = Some(format!("{} until {}", grant.request_id, g.expires_at_ms));
    record(tx, &h)?;
    Ok(grant)
}

pub(super) fn load_request(tx: &Connection, n: i64) -> StoreResult<Option<RequestRecord>> {
    let sql = format!("SELECT {REQUEST_COLS} FROM requests r WHERE r.n = ?1");
    tx.query_row(&sql, [n], request_row)
        .optional()
        .map_err(|e| StoreError::backend("read request", e))
}

pub(super) fn request_n(id: &str) -> StoreResult<i64> {
    parse_id('R', id).ok_or_else(|| StoreError::NotFound(id.to_string()))
}

/// End every live grant of request `n`; returns the (last) grant ended.
pub(super) fn revoke_grants_of(
    tx: &Transaction<'_>,
    n: i64,
    actor: &str,
    at: Millis,
) -> StoreResult<Option<GrantRecord>> {
    let sql =
        format!("SELECT {GRANT_COLS} FROM grants WHERE request_n = ?1 AND revoked_at_ms IS NULL");
    let grants: Vec<GrantRecord> = {
        let mut stmt = tx
            .prepare(&sql)
            .map_err(|e| StoreError::backend("revoke", e))?;
        let rows = stmt.query_map([n], grant_row);
        rows.and_then(|r| r.collect())
            .map_err(|e| StoreError::backend("revoke", e))?
    };
    tx.execute(
        "UPDATE grants SET revoked_at_ms = ?1, revoked_by = ?2 WHERE request_n = ?3
         AND revoked_at_ms IS NULL",
        params![at, actor, n],
    )
    .map_err(|e| StoreError::backend("revoke", e))?;
    for g in &grants {
        record(tx, &history_line(at, &g.id, "revoked", actor))?;
    }
    Ok(grants.into_iter().last())
}
