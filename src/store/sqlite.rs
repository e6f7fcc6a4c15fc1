//! The embedded SQLite store: one file, WAL journal, `synchronous=FULL` so a commit is on the
//! disk (not just in the OS cache) before the call returns.

use super::rows::*;
use super::tx::*;
use super::types::*;
use super::{
    migrations, AuditGrant, AuditPolicy, AuditRequest, Compose, Store, StoreError, StoreResult,
    MAX_LIST_ROWS,
};
use crate::clock::Millis;
use crate::grants::record::GrantRecord;
use crate::policy::record::PolicyRecord;
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

/// How long a writer waits for another process's lock before failing.
const BUSY_TIMEOUT_MS: u64 = 5_000;

pub struct SqliteStore {
    /// One connection: SQLite serialises writers anyway, and the workflow's writes are small.
    conn: Mutex<Connection>,
    /// Unit tests: the next write transaction fails at its commit, after its work (and its
    /// audit records) are done, as a full disk at commit would.
    #[cfg(test)]
    fail_next_commit: std::sync::atomic::AtomicBool,
}

impl SqliteStore {
    /// Open (creating the file and its parent directory if needed) and migrate.
    pub fn open(path: &Path) -> StoreResult<SqliteStore> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::backend("open", format!("cannot create {}: {e}", dir.display()))
            })?;
        }
        let mut conn = Connection::open(path).map_err(|e| {
            StoreError::backend("open", format!("cannot open {}: {e}", path.display()))
        })?;
        conn.busy_timeout(std::time::Duration::from_millis(BUSY_TIMEOUT_MS))
            .map_err(|e| StoreError::backend("open", e))?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| StoreError::backend("open", e))?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(|e| StoreError::backend("open", e))?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(|e| StoreError::backend("open", e))?;
        migrations::migrate(&mut conn).map_err(|e| StoreError::backend("migrate", e))?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
            #[cfg(test)]
            fail_next_commit: std::sync::atomic::AtomicBool::new(false),
        })
    }

    pub(super) fn lock(&self) -> StoreResult<MutexGuard<'_, Connection>> {
        self.conn
            .lock()
            .map_err(|_| StoreError::backend("lock", "a previous store call panicked"))
    }

    /// Run `f` in an IMMEDIATE transaction (the write lock is taken up front) and commit.
    pub(super) fn write<T>(
        &self,
        op: &'static str,
        f: impl FnOnce(&Transaction<'_>) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let mut conn = self.lock()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| StoreError::backend(op, e))?;
        let value = f(&tx)?;
        #[cfg(test)]
        if self
            .fail_next_commit
            .swap(false, std::sync::atomic::Ordering::SeqCst)
        {
            drop(tx); // rolls back
            return Err(StoreError::backend(op, "injected commit failure"));
        }
        tx.commit().map_err(|e| StoreError::backend(op, e))?;
        Ok(value)
    }

    /// Unit tests: make the next write transaction fail at its commit.
    #[cfg(test)]
    pub(crate) fn fail_next_commit(&self) {
        self.fail_next_commit
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Store for SqliteStore {
    fn ping(&self) -> StoreResult<()> {
        let conn = self.lock()?;
        conn.query_row("SELECT COUNT(*) FROM schema_version", [], |r| {
            r.get::<_, i64>(0)
        })
        .map_err(|e| StoreError::backend("ping", e))?;
        Ok(())
    }

    fn list_policies(&self) -> StoreResult<Vec<PolicyRecord>> {
        let conn = self.lock()?;
        let sql = format!("SELECT {POLICY_COLS} FROM policies ORDER BY n LIMIT {MAX_LIST_ROWS}");
        let mut stmt = conn
            .prepare(&sql)
            .map_err(|e| StoreError::backend("list policies", e))?;
        let rows = stmt.query_map([], policy_row);
        rows.and_then(|r| r.collect())
            .map_err(|e| StoreError::backend("list policies", e))
    }

    fn create_policy(
        &self,
        p: NewPolicy,
        actor: &str,
        at: Millis,
        audit: &AuditPolicy,
    ) -> StoreResult<PolicyRecord> {
        self.write("create policy", |tx| {
            tx.execute(
                "INSERT INTO policies (scope, approval, approvers, max_hours, created_by,
                 created_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    to_json(&p.scope)?,
                    approval_name(p.approval),
                    p.approvers,
                    p.max_hours,
                    actor,
                    at
                ],
            )
            .map_err(|e| StoreError::backend("create policy", e))?;
            let policy = PolicyRecord {
                id: format!("P-{}", tx.last_insert_rowid()),
                scope: p.scope,
                approval: p.approval,
                approvers: p.approvers,
                max_hours: p.max_hours,
            };
            let mut h = history_line(at, &policy.id, "created", actor);
            h.detail = Some(to_json(&policy)?);
            record(tx, &h)?;
            audit(&policy).map_err(StoreError::AuditRefused)?;
            Ok(policy)
        })
    }

    fn remove_policy(
        &self,
        id: &str,
        actor: &str,
        at: Millis,
        audit: &AuditPolicy,
    ) -> StoreResult<PolicyRecord> {
        let n = parse_id('P', id).ok_or_else(|| StoreError::NotFound(id.to_string()))?;
        self.write("remove policy", |tx| {
            let sql = format!("SELECT {POLICY_COLS} FROM policies WHERE n = ?1");
            let policy = tx
                .query_row(&sql, [n], policy_row)
                .optional()
                .map_err(|e| StoreError::backend("remove policy", e))?
                .ok_or_else(|| StoreError::NotFound(id.to_string()))?;
            tx.execute("DELETE FROM policies WHERE n = ?1", [n])
                .map_err(|e| StoreError::backend("remove policy", e))?;
            let mut h = history_line(at, id, "removed", actor);
            h.detail = Some(to_json(&policy)?);
            record(tx, &h)?;
            audit(&policy).map_err(StoreError::AuditRefused)?;
            Ok(policy)
        })
    }

    fn create_request(
        &self,
        r: NewRequest,
        grant: Option<NewGrant>,
        compose: &Compose,
        audit: &AuditRequest,
    ) -> StoreResult<(RequestRecord, Option<GrantRecord>)> {
        self.write("create request", |tx| {
            tx.execute(
                "INSERT INTO requests (requester, task, policy_id, approvers, reason, hours, state,
                 comments, created_at_ms, updated_at_ms, pending_expires_at_ms, decided_by)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, '[]', ?8, ?8, ?9, ?10)",
                params![
                    r.requester,
                    r.task,
                    r.policy_id,
                    r.approvers,
                    r.reason,
                    r.hours,
                    r.state.as_str(),
                    r.created_at_ms,
                    r.pending_expires_at_ms,
                    r.decided_by
                ],
            )
            .map_err(|e| StoreError::backend("create request", e))?;
            let n = tx.last_insert_rowid();
            let mut h = history_line(r.created_at_ms, &format!("R-{n}"), "created", &r.requester);
            h.to_state = Some(r.state.as_str().to_string());
            h.detail = Some(format!("{} for {} h: {}", r.task, r.hours, r.reason));
            record(tx, &h)?;
            let grant = grant.map(|g| insert_grant(tx, n, &g)).transpose()?;
            let request =
                load_request(tx, n)?.ok_or_else(|| StoreError::NotFound(format!("R-{n}")))?;
            enqueue(tx, &compose(&request, grant.as_ref()))?;
            audit(&request, grant.as_ref()).map_err(StoreError::AuditRefused)?;
            Ok((request, grant))
        })
    }

    fn get_request(&self, id: &str) -> StoreResult<Option<RequestRecord>> {
        let Some(n) = parse_id('R', id) else {
            return Ok(None);
        };
        load_request(&*self.lock()?, n)
    }

    fn list_requests(
        &self,
        state: Option<RequestState>,
        limit: usize,
    ) -> StoreResult<Vec<RequestRecord>> {
        let conn = self.lock()?;
        let limit = limit.min(MAX_LIST_ROWS) as i64;
        let sql = format!(
            "SELECT {REQUEST_COLS} FROM requests r WHERE (?1 IS NULL OR r.state = ?1)
             ORDER BY r.n DESC LIMIT ?2"
        );
        let mut stmt = conn
            .prepare(&sql)
            .map_err(|e| StoreError::backend("list requests", e))?;
        let rows = stmt.query_map(params![state.map(|s| s.as_str()), limit], request_row);
        rows.and_then(|r| r.collect())
            .map_err(|e| StoreError::backend("list requests", e))
    }

    fn transition(
        &self,
        t: Transition,
        compose: &Compose,
        audit: &AuditRequest,
    ) -> StoreResult<(RequestRecord, Option<GrantRecord>)> {
        let n = request_n(&t.request_id)?;
        self.write("transition", |tx| {
            let mut request =
                load_request(tx, n)?.ok_or_else(|| StoreError::NotFound(t.request_id.clone()))?;
            if request.state != t.from {
                return Err(StoreError::WrongState {
                    id: t.request_id.clone(),
                    expected: t.from,
                    actual: request.state,
                });
            }
            if let Some(text) = &t.comment {
                request.comments.push(Comment {
                    author: t.actor.clone(),
                    text: text.clone(),
                    at_ms: t.at_ms,
                });
            }
            tx.execute(
                "UPDATE requests SET state = ?1, comments = ?2, updated_at_ms = ?3, decided_by = ?4
                 WHERE n = ?5",
                params![
                    t.to.as_str(),
                    to_json(&request.comments)?,
                    t.at_ms,
                    t.actor,
                    n
                ],
            )
            .map_err(|e| StoreError::backend("transition", e))?;
            let mut h = history_line(t.at_ms, &t.request_id, t.to.as_str(), &t.actor);
            h.from_state = Some(t.from.as_str().to_string());
            h.to_state = Some(t.to.as_str().to_string());
            h.detail = t.comment.clone();
            record(tx, &h)?;
            let mut grant = t
                .grant
                .as_ref()
                .map(|g| insert_grant(tx, n, g))
                .transpose()?;
            if t.revoke_grant {
                grant = revoke_grants_of(tx, n, &t.actor, t.at_ms)?;
            }
            let request =
                load_request(tx, n)?.ok_or_else(|| StoreError::NotFound(t.request_id.clone()))?;
            enqueue(tx, &compose(&request, grant.as_ref()))?;
            audit(&request, grant.as_ref()).map_err(StoreError::AuditRefused)?;
            Ok((request, grant))
        })
    }

    fn list_active_grants(&self, now: Millis) -> StoreResult<Vec<GrantRecord>> {
        let conn = self.lock()?;
        let sql = format!(
            "SELECT {GRANT_COLS} FROM grants WHERE revoked_at_ms IS NULL AND expires_at_ms > ?1
             ORDER BY n"
        );
        let mut stmt = conn
            .prepare(&sql)
            .map_err(|e| StoreError::backend("list grants", e))?;
        let rows = stmt.query_map([now], grant_row);
        rows.and_then(|r| r.collect())
            .map_err(|e| StoreError::backend("list grants", e))
    }

    fn history(&self, subject: &str) -> StoreResult<Vec<HistoryEntry>> {
        let conn = self.lock()?;
        let mut stmt = conn
            .prepare(
                "SELECT at_ms, subject, action, actor, from_state, to_state, detail FROM history
                 WHERE subject = ?1 ORDER BY seq",
            )
            .map_err(|e| StoreError::backend("history", e))?;
        let rows = stmt.query_map([subject], |r| {
            Ok(HistoryEntry {
                at_ms: r.get(0)?,
                subject: r.get(1)?,
                action: r.get(2)?,
                actor: r.get(3)?,
                from_state: r.get(4)?,
                to_state: r.get(5)?,
                detail: r.get(6)?,
            })
        });
        rows.and_then(|r| r.collect())
            .map_err(|e| StoreError::backend("history", e))
    }

    fn due_outbox(&self, now: Millis, limit: usize) -> StoreResult<Vec<OutboxItem>> {
        let conn = self.lock()?;
        let mut stmt = conn
            .prepare(
                "SELECT n, channel, subject, body, created_at_ms, attempts FROM outbox
                 WHERE delivered_at_ms IS NULL AND dead = 0 AND next_attempt_ms <= ?1
                 ORDER BY n LIMIT ?2",
            )
            .map_err(|e| StoreError::backend("outbox", e))?;
        let limit = limit.min(MAX_LIST_ROWS) as i64;
        let rows = stmt.query_map(params![now, limit], |r| {
            Ok(OutboxItem {
                id: r.get(0)?,
                message: OutboxMessage {
                    channel: from_json(&r.get::<_, String>(1)?)?,
                    subject: r.get(2)?,
                    body: r.get(3)?,
                    created_at_ms: r.get(4)?,
                },
                attempts: r.get(5)?,
            })
        });
        rows.and_then(|r| r.collect())
            .map_err(|e| StoreError::backend("outbox", e))
    }

    fn record_grant_ends(
        &self,
        now: Millis,
        limit: usize,
        audit: &AuditGrant,
    ) -> StoreResult<Vec<GrantRecord>> {
        super::grant_ends::record_grant_ends(self, now, limit, audit)
    }

    fn outbox_delivered(&self, id: i64, at: Millis) -> StoreResult<()> {
        self.write("outbox delivered", |tx| {
            tx.execute(
                "UPDATE outbox SET delivered_at_ms = ?1, attempts = attempts + 1 WHERE n = ?2",
                params![at, id],
            )
            .map_err(|e| StoreError::backend("outbox delivered", e))?;
            Ok(())
        })
    }

    fn outbox_failed(&self, id: i64, error: &str, next: Option<Millis>) -> StoreResult<()> {
        self.write("outbox failed", |tx| {
            tx.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?1,
                 next_attempt_ms = COALESCE(?2, next_attempt_ms), dead = ?3 WHERE n = ?4",
                params![error, next, next.is_none(), id],
            )
            .map_err(|e| StoreError::backend("outbox failed", e))?;
            Ok(())
        })
    }
}

#[cfg(test)]
#[path = "sqlite_tests.rs"]
mod tests;
