//! The durable store of the privileged-access workflow: policies, requests, grants, the history
//! of every state change, and the notification outbox.
//!
//! The trait is narrow and synchronous on purpose: SQLite ([`sqlite::SqliteStore`]) is blocking,
//! and a PostgreSQL backend will implement the same calls. Async callers run it on
//! `tokio::task::spawn_blocking`. Every method that changes state does so in ONE transaction that
//! is committed before it returns, so whatever the caller acknowledges has reached the disk
//! (invariant 5: nothing accepted is lost).

mod grant_ends;
mod migrations;
mod rows;
pub mod sqlite;
mod tx;
mod types;

pub use sqlite::SqliteStore;
pub use types::*;

use crate::clock::Millis;
use crate::grants::record::GrantRecord;
use crate::policy::record::PolicyRecord;

/// Most rows one list call returns, so a listing never allocates without bound.
pub const MAX_LIST_ROWS: usize = 1_000;

/// A store failure: which operation, and why.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The subject (`R-3`, `P-2`) does not exist.
    #[error("{0} does not exist")]
    NotFound(String),
    /// A transition found the request in another state than expected (a concurrent change).
    #[error("{id} is {actual}, not {expected}")]
    WrongState {
        id: String,
        expected: RequestState,
        actual: RequestState,
    },
    /// The database could not be read or written.
    #[error("store {op} failed: {message}")]
    Backend { op: &'static str, message: String },
    /// The change's audit record could not be written, so the change was rolled back.
    #[error("the audit log refused the record ({0})")]
    AuditRefused(String),
}

impl StoreError {
    pub(crate) fn backend(op: &'static str, e: impl std::fmt::Display) -> Self {
        StoreError::Backend {
            op,
            message: e.to_string(),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Builds the notifications a change causes from the request as committed (so they carry its
/// id and new state); they are queued in the same transaction.
pub type Compose = dyn Fn(&RequestRecord, Option<&GrantRecord>) -> Vec<OutboxMessage> + Send + Sync;

/// Writes a request change's audit record from inside its transaction: after the rows are
/// written (so the record can name the request and grant ids) and before the commit. An `Err`
/// rolls the whole change back ([`StoreError::AuditRefused`]), so a step is audited before it
/// takes effect and never takes effect unaudited (invariant 3). The reverse cannot be ruled
/// out: when the commit itself fails after the record was written, the log holds a record of a
/// change that did not happen, and SQLite hands its id to the next change (the caller got an
/// error, and the store's history is the authority on what took effect).
pub type AuditRequest =
    dyn Fn(&RequestRecord, Option<&GrantRecord>) -> Result<(), String> + Send + Sync;

/// [`AuditRequest`] for a policy created or removed.
pub type AuditPolicy = dyn Fn(&PolicyRecord) -> Result<(), String> + Send + Sync;

/// [`AuditRequest`] for a grant that ran out.
pub type AuditGrant = dyn Fn(&GrantRecord) -> Result<(), String> + Send + Sync;

/// The store's whole surface. Implementations must commit durably before returning `Ok`.
pub trait Store: Send + Sync + 'static {
    /// Cheap reachability check for `/readyz`.
    fn ping(&self) -> StoreResult<()>;

    /// Policies created through the admin API (config-file policies are not stored).
    fn list_policies(&self) -> StoreResult<Vec<PolicyRecord>>;
    /// Store a new policy; the store assigns its id (`P-<n>`) and calls `audit` with the
    /// record before committing.
    fn create_policy(
        &self,
        policy: NewPolicy,
        actor: &str,
        at: Millis,
        audit: &AuditPolicy,
    ) -> StoreResult<PolicyRecord>;
    /// Remove a stored policy (calling `audit` before committing); returns what was removed.
    fn remove_policy(
        &self,
        id: &str,
        actor: &str,
        at: Millis,
        audit: &AuditPolicy,
    ) -> StoreResult<PolicyRecord>;

    /// Store a new request, with its grant when an auto policy approves it at once, and the
    /// notifications it causes; `audit` runs last before the commit. Returns the request and
    /// the grant.
    fn create_request(
        &self,
        request: NewRequest,
        grant: Option<NewGrant>,
        compose: &Compose,
        audit: &AuditRequest,
    ) -> StoreResult<(RequestRecord, Option<GrantRecord>)>;
    fn get_request(&self, id: &str) -> StoreResult<Option<RequestRecord>>;
    /// Newest first, at most `limit` (capped at [`MAX_LIST_ROWS`]).
    fn list_requests(
        &self,
        state: Option<RequestState>,
        limit: usize,
    ) -> StoreResult<Vec<RequestRecord>>;
    /// Move a request from `t.from` to `t.to`, creating or revoking its grant and queueing its
    /// notifications, all in one transaction; `audit` runs last before the commit. Fails with
    /// `WrongState` when the request is not in `t.from` any more (nothing is audited then).
    /// Returns the request and the grant created or revoked.
    fn transition(
        &self,
        t: Transition,
        compose: &Compose,
        audit: &AuditRequest,
    ) -> StoreResult<(RequestRecord, Option<GrantRecord>)>;

    /// Grants neither revoked nor expired at `now`.
    fn list_active_grants(&self, now: Millis) -> StoreResult<Vec<GrantRecord>>;

    /// Record the end of every grant that ran out by `now` (not revoked, end not yet recorded),
    /// at most `limit`, each in its own transaction with `audit` last before the commit.
    /// Returns the grants recorded; each is recorded once, however often this runs.
    fn record_grant_ends(
        &self,
        now: Millis,
        limit: usize,
        audit: &AuditGrant,
    ) -> StoreResult<Vec<GrantRecord>>;

    /// Every recorded change of a subject (`R-1`, `P-1`, `G-1`), oldest first.
    fn history(&self, subject: &str) -> StoreResult<Vec<HistoryEntry>>;

    /// Undelivered notifications due at `now`, oldest first.
    fn due_outbox(&self, now: Millis, limit: usize) -> StoreResult<Vec<OutboxItem>>;
    /// Mark a notification delivered.
    fn outbox_delivered(&self, id: i64, at: Millis) -> StoreResult<()>;
    /// Record a failed attempt; `next_attempt` `None` means give up (kept, marked dead).
    fn outbox_failed(&self, id: i64, error: &str, next_attempt: Option<Millis>) -> StoreResult<()>;
}
