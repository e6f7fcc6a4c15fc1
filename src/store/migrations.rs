//! Versioned schema migrations. Each entry runs once, in order, in its own transaction, and
//! records its number in `schema_version`. Never edit a shipped migration: append a new one.

use rusqlite::Connection;

/// The migrations, oldest first; index + 1 is the version.
const MIGRATIONS: &[&str] = &[
    // 1: the workflow tables.
    "CREATE TABLE policies (
        n INTEGER PRIMARY KEY AUTOINCREMENT,
        scope TEXT NOT NULL,            -- JSON of policy::record::Scope
        approval TEXT NOT NULL,         -- manual | auto
        approvers TEXT NOT NULL,
        max_hours INTEGER NOT NULL,
        created_by TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL
    );
    CREATE TABLE requests (
        n INTEGER PRIMARY KEY AUTOINCREMENT,
        requester TEXT NOT NULL,
        task TEXT NOT NULL,
        policy_id TEXT NOT NULL,
        approvers TEXT NOT NULL,
        reason TEXT NOT NULL,
        hours INTEGER NOT NULL,
        state TEXT NOT NULL,
        comments TEXT NOT NULL,         -- JSON array of Comment
        created_at_ms INTEGER NOT NULL,
        updated_at_ms INTEGER NOT NULL,
        pending_expires_at_ms INTEGER NOT NULL,
        decided_by TEXT
    );
    CREATE INDEX requests_state ON requests(state);
    CREATE TABLE grants (
        n INTEGER PRIMARY KEY AUTOINCREMENT,
        request_n INTEGER NOT NULL REFERENCES requests(n),
        principal TEXT NOT NULL,
        scope TEXT NOT NULL,            -- JSON of grants::record::GrantScope
        policy_id TEXT NOT NULL,
        starts_at_ms INTEGER NOT NULL,
        expires_at_ms INTEGER NOT NULL,
        approver TEXT NOT NULL,
        revoked_at_ms INTEGER,
        revoked_by TEXT
    );
    CREATE INDEX grants_live ON grants(revoked_at_ms, expires_at_ms);
    CREATE TABLE history (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        at_ms INTEGER NOT NULL,
        subject TEXT NOT NULL,
        action TEXT NOT NULL,
        actor TEXT NOT NULL,
        from_state TEXT,
        to_state TEXT,
        detail TEXT
    );
    CREATE INDEX history_subject ON history(subject);
    CREATE TABLE outbox (
        n INTEGER PRIMARY KEY AUTOINCREMENT,
        channel TEXT NOT NULL,          -- JSON of store::Channel
        subject TEXT NOT NULL,
        body TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_ms INTEGER NOT NULL,
        last_error TEXT,
        delivered_at_ms INTEGER,
        dead INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX outbox_due ON outbox(delivered_at_ms, dead, next_attempt_ms);",
];

/// The schema version this build writes.
pub const LATEST: i64 = MIGRATIONS.len() as i64;

/// Bring the database up to [`LATEST`]; refuses a database written by a newer build.
pub fn migrate(conn: &mut Connection) -> Result<i64, String> {
    conn.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        .map_err(|e| e.to_string())?;
    let current: i64 = conn
        .query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_version",
            [],
            |r| r.get(0),
        )
        .map_err(|e| e.to_string())?;
    if current > LATEST {
        return Err(format!(
            "the database is at schema version {current}, newer than this build ({LATEST}); \
             run a newer runspace-gateway"
        ));
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let version = index as i64 + 1;
        let tx = conn.transaction().map_err(|e| e.to_string())?;
        tx.execute_batch(sql)
            .map_err(|e| format!("migration {version}: {e}"))?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES (?1)",
            [version],
        )
        .map_err(|e| e.to_string())?;
        tx.commit().map_err(|e| e.to_string())?;
    }
    Ok(LATEST)
}
