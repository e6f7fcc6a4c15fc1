//! The listener: accept within the connection limit, serve each connection in its own task,
//! and shut down gracefully.

use super::connection;
use super::filter::SharedFilter;
use super::service::Shared;
use super::tls;
use super::upstream::Upstream;
use super::StartError;
use crate::config::Config;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

/// Pause after a failed `accept` (e.g. out of file descriptors) so the loop does not spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// A bound, ready-to-run gateway listener.
///
/// ```no_run
/// # async fn example(config: runspace_gateway::config::Config) -> Result<(), Box<dyn std::error::Error>> {
/// use runspace_gateway::proxy::{PassThrough, Server};
/// let server = Server::bind(&config, std::sync::Arc::new(PassThrough)).await?;
/// println!("listening on {}", server.local_addr());
/// server.run(runspace_gateway::proxy::shutdown_signal()).await;
/// # Ok(()) }
/// ```
pub struct Server {
    listener: TcpListener,
    local_addr: SocketAddr,
    acceptor: TlsAcceptor,
    shared: Arc<Shared>,
}

impl Server {
    /// Load the TLS material, resolve the endpoint and bind `[listen] addr` (port 0 picks a
    /// free port; see [`Server::local_addr`]). Every failure names the key and file at fault.
    pub async fn bind(config: &Config, filter: SharedFilter) -> Result<Server, StartError> {
        let tls_config = tls::server_config(&config.listen)?;
        let upstream = Upstream::from_config(&config.upstream)?;
        let addr = config.listen.addr;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Bind { addr, source })?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| StartError::Bind { addr, source })?;
        Ok(Server {
            listener,
            local_addr,
            acceptor: TlsAcceptor::from(tls_config),
            shared: Arc::new(Shared {
                filter,
                upstream,
                limits: config.limits.clone(),
            }),
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serve until `shutdown` completes; then stop accepting, let requests in flight finish
    /// for up to `[limits] shutdown_grace_ms`, and drop whatever is still running.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) {
        let limits = self.shared.limits.clone();
        let permits = Arc::new(Semaphore::new(limits.max_connections));
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut tasks = JoinSet::new();
        let mut next_conn_id: u64 = 0;
        tokio::pin!(shutdown);
        loop {
            // Take a permit before accepting: over the limit, clients wait in the accept queue.
            let permit = tokio::select! {
                permit = permits.clone().acquire_owned() => match permit {
                    Ok(permit) => permit,
                    Err(_) => break,
                },
                () = &mut shutdown => break,
            };
            let (tcp, client_addr) = tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            while tasks.try_join_next().is_some() {}
            next_conn_id += 1;
            let conn = connection::serve(
                tcp,
                client_addr,
                next_conn_id,
                self.acceptor.clone(),
                self.shared.clone(),
                stop_rx.clone(),
            );
            tasks.spawn(async move {
                conn.await;
                drop(permit);
            });
        }
        drop(self.listener);
        tracing::info!(
            connections = tasks.len(),
            "shutting down: no longer accepting"
        );
        let _ = stop_tx.send(true);
        let grace = Duration::from_millis(limits.shutdown_grace_ms);
        let drained =
            tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} }).await;
        if drained.is_err() {
            tracing::warn!(
                connections = tasks.len(),
                "shutdown grace period (limits.shutdown_grace_ms) over; dropping connections"
            );
            tasks.shutdown().await;
        }
        tracing::info!("stopped");
    }
}

/// Completes on SIGTERM or SIGINT (Ctrl-C): the daemon's shutdown trigger.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {},
                    () = ctrl_c() => {},
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot watch SIGTERM; only Ctrl-C stops the gateway");
                ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    ctrl_c().await;
}

/// Ctrl-C; if it cannot be watched, never (a failed registration must not stop the server).
async fn ctrl_c() {
    if let Err(e) = tokio::signal::ctrl_c().await {
        tracing::warn!(error = %e, "cannot watch Ctrl-C");
        std::future::pending::<()>().await;
    }
}
