//! The request-filter phase: the one place where the data path may answer instead of forwarding.
//!
//! The proxy knows nothing about cmdlets. It asks the filter whether a request's body is needed
//! (inspected paths), buffers it within `[limits] max_body_bytes`, and then forwards or answers
//! with what the filter returns. Everything the gateway enforces plugs in here.

use bytes::Bytes;
use http_body_util::Full;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

/// What the proxy knows about the client connection.
#[derive(Debug, Clone)]
pub struct ConnContext {
    /// The client's address.
    pub client_addr: SocketAddr,
    /// The verified mTLS client certificate's subject (CN, else first DNS SAN), when presented.
    pub client_cert_principal: Option<String>,
    /// A number unique per client connection, for logs.
    pub conn_id: u64,
}

/// What came back from the endpoint for a forwarded request, once its response head arrived
/// (or forwarding failed and the proxy answered 502/504 itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpstreamOutcome {
    /// The endpoint's status, or the proxy's 502/504 when forwarding failed.
    pub status: u16,
    /// Why there is no endpoint status; `None` when the endpoint answered.
    pub failure: Option<UpstreamFailure>,
    /// From sending the request to the response head (or the failure).
    pub latency: std::time::Duration,
}

/// Why a forwarded request got no answer from the endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamFailure {
    Connect,
    Tls,
    Timeout,
    /// The endpoint broke off or answered something that is not HTTP.
    Exchange,
    /// The client's body failed while being streamed (not the endpoint's fault).
    ClientBody,
}

/// Called once with the [`UpstreamOutcome`] of a request forwarded by
/// [`FilterOutcome::ForwardWatched`]; the proxy awaits it before answering the client.
pub type OnUpstream =
    Box<dyn FnOnce(UpstreamOutcome) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

/// The filter's answer for one request.
pub enum FilterOutcome {
    /// Forward the request with this body (the original bytes, unchanged).
    Forward(Bytes),
    /// Forward like `Forward`, then report what the endpoint answered (audit and metrics of
    /// the upstream response). The report runs after forwarding, so it cannot change it.
    ForwardWatched(Bytes, OnUpstream),
    /// Answer locally with this response; nothing reaches the endpoint.
    Respond(http::Response<Full<Bytes>>),
    /// Answer the client with `respond`, and send the endpoint `body` in place of the client's
    /// (same head; `Content-Length` fixed, `set_headers` replacing same-named headers) on this
    /// client's upstream connection. The endpoint's answer is read to its end and discarded.
    /// For a refusal that must also clean up state the endpoint holds from earlier requests:
    /// the client's answer is decided, so nothing the endpoint does (or its being down) can
    /// change it.
    ForwardInstead {
        body: Bytes,
        set_headers: http::HeaderMap,
        respond: http::Response<Full<Bytes>>,
    },
}

pub type FilterFuture<'a> = Pin<Box<dyn Future<Output = FilterOutcome> + Send + 'a>>;

pub trait RequestFilter: Send + Sync + 'static {
    /// Whether this request's body must be buffered and passed to [`RequestFilter::filter`].
    /// Requests answered `false` are streamed straight through.
    fn wants_body(&self, head: &http::request::Parts) -> bool;

    /// Decide on a buffered request. Called only when `wants_body` said so.
    fn filter<'a>(
        &'a self,
        conn: &'a ConnContext,
        head: &'a http::request::Parts,
        body: Bytes,
    ) -> FilterFuture<'a>;
}

/// The filter that inspects nothing and forwards everything (a plain reverse proxy).
#[derive(Debug, Default, Clone, Copy)]
pub struct PassThrough;

impl RequestFilter for PassThrough {
    fn wants_body(&self, _head: &http::request::Parts) -> bool {
        false
    }
    fn filter<'a>(
        &'a self,
        _conn: &'a ConnContext,
        _head: &'a http::request::Parts,
        body: Bytes,
    ) -> FilterFuture<'a> {
        Box::pin(async move { FilterOutcome::Forward(body) })
    }
}

pub type SharedFilter = Arc<dyn RequestFilter>;
