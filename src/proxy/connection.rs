//! One client connection: TLS handshake, then HTTP/1.1 served by hyper until the client leaves,
//! a limit cuts it off, or shutdown asks it to finish its request in flight and close.

use super::filter::ConnContext;
use super::framing::{FramingTracker, FramingVerdict, MAX_HEADERS, MAX_HEAD_BYTES};
use super::guarded_io::GuardedIo;
use super::peer_cert;
use super::service::{self, ConnState, Shared};
use super::upstream::UpstreamSlot;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

/// Serve one accepted TCP connection to its end. Errors are logged, never returned: one
/// client's failure is not the server's.
pub async fn serve(
    tcp: TcpStream,
    client_addr: SocketAddr,
    conn_id: u64,
    acceptor: TlsAcceptor,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let _ = tcp.set_nodelay(true);
    let handshake_time = Duration::from_millis(shared.limits.header_read_timeout_ms);
    let tls = tokio::select! {
        result = tokio::time::timeout(handshake_time, acceptor.accept(tcp)) => match result {
            Ok(Ok(tls)) => tls,
            Ok(Err(e)) => {
                tracing::info!(client = %client_addr, conn = conn_id, error = %e, "TLS handshake failed");
                return;
            }
            Err(_) => {
                tracing::info!(client = %client_addr, conn = conn_id, "TLS handshake timed out");
                return;
            }
        },
        () = stopped(&mut shutdown) => return,
    };
    let principal = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|chain| chain.first())
        .and_then(|cert| peer_cert::principal(cert));
    let verdict = Arc::new(FramingVerdict::default());
    let state = Arc::new(ConnState {
        ctx: ConnContext {
            client_addr,
            client_cert_principal: principal,
            conn_id,
        },
        framing: verdict.clone(),
        upstream: UpstreamSlot::default(),
        requests: AtomicU64::new(0),
        shared: shared.clone(),
    });
    let io = TokioIo::new(GuardedIo::new(tls, FramingTracker::new(verdict)));
    let service = service_fn(move |request| {
        let state = state.clone();
        async move { Ok::<_, Infallible>(service::handle(state, request).await) }
    });
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_millis(shared.limits.header_read_timeout_ms))
        .max_header_size(MAX_HEAD_BYTES)
        .max_headers(MAX_HEADERS)
        .preserve_header_case(true)
        .keep_alive(true)
        .serve_connection(io, service);
    tokio::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = stopped(&mut shutdown) => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(e) = result {
        tracing::info!(client = %client_addr, conn = conn_id, error = %e, "connection ended");
    }
}

/// Completes when shutdown is signalled (or the server is gone).
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}
