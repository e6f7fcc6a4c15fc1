//! The admin API: JSON over HTTPS on its own listener (`[admin] addr`), authenticated by bearer
//! tokens or mTLS. The routes are in [`routes`]; other parts of the gateway add theirs with
//! [`AdminApi::with_route`].

pub mod auth;
mod body;
pub mod client;
mod reply;
mod routes;
pub mod tables;
pub mod tls;

pub use body::MAX_ADMIN_BODY_BYTES;
pub use reply::{json, ApiError, Reply};
pub use routes::OPENAPI;

use crate::workflow::{BoxFuture, Workflow};
use auth::TokenSet;
use bytes::Bytes;
use http::{Method, StatusCode};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// Admin connections served at once; more wait in the accept queue.
pub const MAX_ADMIN_CONNECTIONS: usize = 256;
/// Time a client has to finish the TLS handshake.
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Time a client has to send a complete request head.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// One authenticated call, as a handler sees it.
pub struct Call {
    /// The caller (lower-case); `None` only on public routes.
    pub principal: Option<String>,
    pub head: http::request::Parts,
    /// The body, already within [`MAX_ADMIN_BODY_BYTES`].
    pub body: Bytes,
}

impl Call {
    /// The body as JSON fields (see `body::Fields`).
    fn fields(&self) -> Result<body::Fields, ApiError> {
        body::object(&self.head, &self.body).map(body::Fields)
    }
}

pub type Handler = Arc<dyn Fn(Call) -> BoxFuture<'static, Reply> + Send + Sync>;

/// A route added by another part of the gateway.
pub struct ExtraRoute {
    pub method: Method,
    /// Exact path, e.g. `/metrics`.
    pub path: String,
    /// Served without a token (e.g. `/metrics` for a scraper on a private network).
    pub public: bool,
    pub handler: Handler,
}

/// The API: the workflow, the tokens, and any extra routes.
pub struct AdminApi {
    workflow: Arc<Workflow>,
    tokens: TokenSet,
    extra: Vec<ExtraRoute>,
}

impl AdminApi {
    pub fn new(workflow: Arc<Workflow>, tokens: TokenSet) -> AdminApi {
        AdminApi {
            workflow,
            tokens,
            extra: Vec::new(),
        }
    }

    /// Add a route (`/metrics`, `GET /v1/ratelimit`, `POST /v1/reload`, ...). Built-in routes
    /// win over an extra route with the same method and path.
    pub fn with_route(
        mut self,
        method: Method,
        path: &str,
        public: bool,
        handler: Handler,
    ) -> Self {
        self.extra.push(ExtraRoute {
            method,
            path: path.to_string(),
            public,
            handler,
        });
        self
    }

    /// Authenticate, read the body within its limit, route, and turn errors into JSON.
    pub async fn handle<B>(&self, req: http::Request<B>, cert_principal: Option<String>) -> Reply
    where
        B: hyper::body::Body<Data = Bytes> + Send,
        B::Error: std::error::Error + Send + Sync + 'static,
    {
        let (head, body) = req.into_parts();
        let bearer = head.headers.get(http::header::AUTHORIZATION);
        let principal = match bearer {
            Some(v) => self.tokens.principal(v.as_bytes()),
            None => cert_principal,
        };
        let public = self.is_public(&head.method, head.uri.path());
        if principal.is_none() && !public {
            let why = if bearer.is_some() {
                "the bearer token is not valid"
            } else {
                "no bearer token or client certificate was presented"
            };
            return ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", format!("{why}; send Authorization: Bearer <token> (runspace-gateway --token / RUNSPACE_GATEWAY_TOKEN)")).into_reply();
        }
        let body = match body::read(&head, body).await {
            Ok(b) => b,
            Err(e) => return e.into_reply(),
        };
        let method = head.method.clone();
        let path = head.uri.path().to_string();
        let result = self
            .route(Call {
                principal: principal.clone(),
                head,
                body,
            })
            .await;
        let reply = result.unwrap_or_else(ApiError::into_reply);
        tracing::info!(target: "admin", %method, %path, principal = principal.as_deref().unwrap_or("-"), status = reply.status().as_u16(), "admin call");
        reply
    }
}

/// Serve the admin API on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    api: Arc<AdminApi>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let acceptor = TlsAcceptor::from(tls);
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_ADMIN_CONNECTIONS));
    tokio::pin!(shutdown);
    loop {
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        let accepted = tokio::select! {
            _ = &mut shutdown => return,
            a = listener.accept() => a,
        };
        let (tcp, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(target: "admin", error = %e, "accept failed");
                continue;
            }
        };
        let (acceptor, api) = (acceptor.clone(), api.clone());
        tokio::spawn(async move {
            let _permit = permit;
            if let Err(e) = serve_connection(acceptor, tcp, api).await {
                tracing::debug!(target: "admin", %peer, error = %e, "admin connection ended");
            }
        });
    }
}

async fn serve_connection(
    acceptor: TlsAcceptor,
    tcp: tokio::net::TcpStream,
    api: Arc<AdminApi>,
) -> Result<(), String> {
    let tls = tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(tcp))
        .await
        .map_err(|_| "TLS handshake timed out".to_string())?
        .map_err(|e| format!("TLS handshake failed: {e}"))?;
    let cert_principal = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first())
        .and_then(|c| crate::proxy::client_cert_principal(c))
        .map(|p| p.to_lowercase());
    let service = hyper::service::service_fn(move |req: http::Request<Incoming>| {
        let (api, who) = (api.clone(), cert_principal.clone());
        async move { Ok::<_, std::convert::Infallible>(api.handle(req, who).await) }
    });
    hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .serve_connection(TokioIo::new(tls), service)
        .await
        .map_err(|e| e.to_string())
}
