//! The mock management endpoint: speaks WinRM/PSRP (`/wsman`, `/PowerShell`,
//! `/powershell-liveid`) and the Exchange Online admin API (`/adminapi/...`) well enough for
//! the real clients, runs nothing, and records exactly what arrived.
//!
//! Used by `runspace-gateway mock-upstream`, by `dev`, by the integration and end-to-end tests
//! and by the benchmarks. Plain HTTP/1.1 with keep-alive; meant for loopback.

pub mod auth;
pub mod echo;
pub mod log;
mod pipeline;
pub mod registry;
pub mod rest;
mod service;
mod shells;
pub mod winrm;

use crate::invocation::Command;
use auth::User;
use echo::Caller;
use log::CommandLog;
use serde_json::Value;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

/// Connections served at once; more wait in the accept queue. Far above what a load test
/// on this machine opens, and still a bound.
pub const MAX_CONNECTIONS: usize = 4096;

/// How the mock behaves.
#[derive(Debug, Clone, Default)]
pub struct MockOptions {
    /// Accepted Basic credentials; empty means any credentials (but some are required).
    pub users: Vec<User>,
    /// Where to append one JSON line per executed command, and one per Signal that ended a
    /// command before it ran (see [`echo::signalled`]).
    pub log: Option<PathBuf>,
    /// How long a Receive waits for output before the OperationTimeout fault (clients then
    /// send the next Receive). `None` is [`DEFAULT_RECEIVE_WAIT`].
    pub receive_wait: Option<Duration>,
}

/// The default long-poll of a Receive: shorter than every client's OperationTimeout
/// (pypsrp 20 s, PowerShell 180 s), so the client never gives up first.
pub const DEFAULT_RECEIVE_WAIT: Duration = Duration::from_secs(10);

/// Everything the request handlers share.
#[derive(Debug)]
pub struct MockState {
    users: Vec<User>,
    log: Option<CommandLog>,
    shells: registry::Shells,
    receive_wait: Duration,
}

impl MockState {
    fn new(opts: MockOptions) -> std::io::Result<MockState> {
        let log = match &opts.log {
            Some(path) => Some(CommandLog::open(path).map_err(|e| {
                std::io::Error::new(e.kind(), format!("mock --log {}: {e}", path.display()))
            })?),
            None => None,
        };
        Ok(MockState {
            users: opts.users,
            log,
            shells: registry::Shells::default(),
            receive_wait: opts.receive_wait.unwrap_or(DEFAULT_RECEIVE_WAIT),
        })
    }

    /// "Run" one command: build its record and log it. The record is the command's output.
    pub fn execute(&self, caller: &Caller<'_>, command: &Command) -> std::io::Result<Value> {
        let record = echo::received(caller, command);
        self.note(&record)?;
        Ok(record)
    }

    /// Append a record to the `--log` file, if there is one.
    fn note(&self, record: &Value) -> std::io::Result<()> {
        match &self.log {
            Some(log) => log.append(record),
            None => Ok(()),
        }
    }
}

/// A bound, not yet running, mock endpoint.
pub struct MockServer {
    listener: TcpListener,
    state: Arc<MockState>,
}

impl MockServer {
    /// Bind the listener and open the log file. Port 0 picks a free port; read it back with
    /// [`MockServer::local_addr`].
    pub async fn bind(addr: SocketAddr, opts: MockOptions) -> std::io::Result<MockServer> {
        let state = Arc::new(MockState::new(opts)?);
        let listener = TcpListener::bind(addr).await.map_err(|e| {
            std::io::Error::new(e.kind(), format!("mock cannot listen on {addr}: {e}"))
        })?;
        Ok(MockServer { listener, state })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serve until `shutdown` completes; then stop accepting and let open connections finish
    /// the request they are on.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> std::io::Result<()> {
        let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
        let (stop_tx, stop_rx) = watch::channel(false);
        tokio::pin!(shutdown);
        loop {
            let permit = tokio::select! {
                _ = &mut shutdown => break,
                p = permits.clone().acquire_owned() => p.map_err(std::io::Error::other)?,
            };
            let (stream, _) = tokio::select! {
                _ = &mut shutdown => break,
                accepted = self.listener.accept() => match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::warn!(error = %e, "mock accept failed");
                        continue;
                    }
                },
            };
            let state = self.state.clone();
            let stop = stop_rx.clone();
            tokio::spawn(async move {
                service::serve_connection(state, stream, stop).await;
                drop(permit);
            });
        }
        let _ = stop_tx.send(true);
        Ok(())
    }
}
