//! Recording grants that ran out. A grant ends by the clock (`decide()` checks `expires_at`);
//! this only writes that end to the history and the audit log, once per grant, so an auditor
//! sees every grant close: revoked, or `grant.expired`.

use super::rows::{grant_row, GRANT_COLS};
use super::sqlite::SqliteStore;
use super::tx::{history_line, record};
use super::{parse_id, AuditGrant, StoreError, StoreResult, MAX_LIST_ROWS};
use crate::clock::Millis;
use crate::grants::record::GrantRecord;
use rusqlite::{params, Connection};

/// The history action that marks a grant's end as recorded.
const EXPIRED: &str = "expired";
/// The history actor of a grant's end: nobody acted, time ran out.
const EXPIRED_BY: &str = "system";

/// Whether grant `id` is still unrevoked with its end unrecorded.
fn still_due(conn: &Connection, id: &str) -> StoreResult<bool> {
    let n = parse_id('G', id).ok_or_else(|| StoreError::NotFound(id.to_string()))?;
    conn.query_row(
        "SELECT COUNT(*) FROM grants g WHERE g.n = ?1 AND g.revoked_at_ms IS NULL
         AND NOT EXISTS (SELECT 1 FROM history h WHERE h.subject = ?2 AND h.action = ?3)",
        params![n, id, EXPIRED],
        |r| r.get::<_, i64>(0),
    )
    .map(|count| count > 0)
    .map_err(|e| StoreError::backend("grant ends", e))
}

/// Grants past their expiry at `now`, not revoked, whose end is not yet recorded.
fn unrecorded(conn: &Connection, now: Millis, limit: usize) -> StoreResult<Vec<GrantRecord>> {
    let sql = format!(
        "SELECT {GRANT_COLS} FROM grants g WHERE g.revoked_at_ms IS NULL AND g.expires_at_ms <= ?1
         AND NOT EXISTS (SELECT 1 FROM history h WHERE h.subject = 'G-' || g.n AND h.action = ?2)
         ORDER BY g.n LIMIT ?3"
    );
    let mut stmt = conn
        .prepare(&sql)
        .map_err(|e| StoreError::backend("grant ends", e))?;
    let limit = limit.min(MAX_LIST_ROWS) as i64;
    let rows = stmt.query_map(params![now, EXPIRED, limit], grant_row);
    rows.and_then(|r| r.collect())
        .map_err(|e| StoreError::backend("grant ends", e))
}

/// Record each due grant's end in its own transaction: the history line, then `audit`, then
/// the commit. A refused record rolls back that grant only; it is tried again next time.
pub(super) fn record_grant_ends(
    store: &SqliteStore,
    now: Millis,
    limit: usize,
    audit: &AuditGrant,
) -> StoreResult<Vec<GrantRecord>> {
    let due = unrecorded(&*store.lock()?, now, limit)?;
    let mut ended = Vec::with_capacity(due.len());
    for g in due {
        let recorded = store.write("grant ends", |tx| {
            // An overlapping sweep (or another replica) may have recorded it, or a revoke
            // ended it, meanwhile.
            if !still_due(tx, &g.id)? {
                return Ok(false);
            }
            let mut h = history_line(now, &g.id, EXPIRED, EXPIRED_BY);
            h.detail = Some(format!("{} ended at {}", g.request_id, g.expires_at_ms));
            record(tx, &h)?;
            audit(&g).map_err(StoreError::AuditRefused)?;
            Ok(true)
        })?;
        if recorded {
            ended.push(g);
        }
    }
    Ok(ended)
}
