//! The TLS listener, HTTP/1.1 serving and forwarding to the endpoint.
//!
//! # Layout
//!
//! - [`Server`] (`server.rs`): bind, accept within `[limits] max_connections`, graceful shutdown.
//! - `connection.rs`: one client connection: TLS handshake, hyper HTTP/1.1 with the header
//!   read timeout, the framing guard (`framing.rs`, `guarded_io.rs`) under it.
//! - `service.rs`: one request: head checks, the [`filter`] phase, forwarding, the log span.
//! - `upstream.rs`: the endpoint, and the one upstream connection per client connection.
//! - `body.rs`: body size and time limits; `headers.rs`: hop-by-hop headers;
//!   `refusal.rs`: the proxy's own answers (400, 408, 413, 502, 504); `tls.rs`: rustls set-up.
//!
//! # Use from other parts (dev mode, tests, benches)
//!
//! ```no_run
//! # async fn example(config: runspace_gateway::config::Config) -> Result<(), runspace_gateway::proxy::StartError> {
//! use runspace_gateway::proxy::{shutdown_signal, PassThrough, Server};
//! let server = Server::bind(&config, std::sync::Arc::new(PassThrough)).await?;
//! let addr = server.local_addr(); // the real port when [listen] addr has port 0
//! server.run(shutdown_signal()).await; // or any future, e.g. a oneshot receiver
//! # Ok(()) }
//! ```
//!
//! # Non-features
//!
//! No HTTP/2 (WinRM and the Exchange REST API are HTTP/1.1), no protocol upgrades, no request
//! retries (WinRM Send/Command are not idempotent), no connection pooling across clients
//! (connection-bound authentication).

mod body;
mod connection;
mod error;
pub mod filter;
mod framing;
mod guarded_io;
mod headers;
mod peer_cert;
mod refusal;
mod server;
mod service;
pub mod tls;
mod upstream;

pub use body::BodyError;
pub use error::StartError;
pub use filter::{
    ConnContext, FilterFuture, FilterOutcome, PassThrough, RequestFilter, SharedFilter,
};
pub use framing::{FramingTracker, FramingVerdict, FramingViolation, MAX_HEADERS, MAX_HEAD_BYTES};
pub use peer_cert::principal as client_cert_principal;
pub use refusal::{Fault, Refusal};
pub use server::{shutdown_signal, Server};
pub use upstream::ForwardError;
