//! One request through the proxy: checks, the request filter, forwarding, and the log line.

use super::body::{BodyOutcome, ClientBody, ForwardBody, GatewayBody};
use super::filter::{
    ConnContext, FilterOutcome, OnUpstream, SharedFilter, UpstreamFailure, UpstreamOutcome,
};
use super::framing::FramingVerdict;
use super::headers::strip_hop_by_hop;
use super::refusal::Refusal;
use super::upstream::{ForwardError, Upstream, UpstreamSlot};
use crate::config::LimitsConfig;
use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tracing::Instrument;

/// What every connection shares: settings and the filter.
pub struct Shared {
    pub filter: SharedFilter,
    pub upstream: Upstream,
    pub limits: LimitsConfig,
}

/// One client connection's state, shared by its requests (which hyper serves one at a time).
pub struct ConnState {
    pub shared: Arc<Shared>,
    pub ctx: ConnContext,
    pub framing: Arc<FramingVerdict>,
    pub upstream: UpstreamSlot,
    /// Requests seen so far; the next request's index for the framing verdict.
    pub requests: AtomicU64,
}

/// Serve one request; never fails (every problem becomes a response).
pub async fn handle(conn: Arc<ConnState>, request: Request<Incoming>) -> Response<GatewayBody> {
    let index = conn.requests.fetch_add(1, Ordering::Relaxed);
    let started = Instant::now();
    let span = tracing::info_span!(
        "request",
        client = %conn.ctx.client_addr,
        conn = conn.ctx.conn_id,
        principal = conn.ctx.client_cert_principal.as_deref(),
        method = %request.method(),
        path = %request.uri().path(),
        status = tracing::field::Empty,
        latency_ms = tracing::field::Empty,
    );
    async move {
        let response = match proxy(&conn, index, request).await {
            Ok(response) => response,
            Err(refusal) => {
                tracing::warn!(fault = ?refusal.fault(), reason = %refusal.message(), "refused");
                refusal.into_response()
            }
        };
        // Latency to the response head; the body streams on after this.
        let span = tracing::Span::current();
        span.record("status", response.status().as_u16());
        span.record("latency_ms", started.elapsed().as_millis() as u64);
        tracing::info!("request done");
        response
    }
    .instrument(span)
    .await
}

async fn proxy(
    conn: &ConnState,
    index: u64,
    request: Request<Incoming>,
) -> Result<Response<GatewayBody>, Refusal> {
    if let Some(violation) = conn.framing.for_request(index) {
        return Err(Refusal::Framing(violation));
    }
    let limits = &conn.shared.limits;
    let (parts, body) = request.into_parts();
    check_head(&parts, limits)?;
    let outcome = BodyOutcome::default();
    let body = ClientBody::new(
        body,
        limits.max_body_bytes,
        limits.body_read_timeout_ms,
        outcome.clone(),
    );
    let filter = &conn.shared.filter;
    let mut on_upstream: Option<OnUpstream> = None;
    let body = if filter.wants_body(&parts) {
        let bytes = body.collect().await.map_err(Refusal::Body)?;
        match filter.filter(&conn.ctx, &parts, bytes).await {
            FilterOutcome::Forward(bytes) => buffered(bytes),
            FilterOutcome::ForwardWatched(bytes, hook) => {
                on_upstream = Some(hook);
                buffered(bytes)
            }
            FilterOutcome::Respond(response) => return Ok(response.map(GatewayBody::Local)),
            FilterOutcome::ForwardInstead {
                body,
                set_headers,
                respond,
            } => {
                forward_instead(conn, parts, body, set_headers).await;
                return Ok(respond.map(GatewayBody::Local));
            }
        }
    } else {
        ForwardBody::Streamed(body)
    };
    let upstream = &conn.shared.upstream;
    let request = upstream_request(parts, body, upstream)?;
    let sent = Instant::now();
    let response = conn
        .upstream
        .send(upstream, request)
        .await
        .map_err(|e| match outcome.get() {
            Some(body_error) => Refusal::Body(body_error.clone()),
            None => Refusal::Forward(e),
        });
    if let Some(hook) = on_upstream {
        hook(upstream_outcome(&response, sent)).await;
    }
    let response = response?;
    let (mut parts, body) = response.into_parts();
    parts.version = http::Version::HTTP_11;
    strip_hop_by_hop(&mut parts.headers);
    Ok(Response::from_parts(parts, GatewayBody::Upstream(body)))
}

/// Send the filter's substitute request on this client's upstream connection and discard the
/// answer. Only logged: the client's answer is already decided.
async fn forward_instead(
    conn: &ConnState,
    mut parts: http::request::Parts,
    body: Bytes,
    set_headers: http::HeaderMap,
) {
    for (name, value) in &set_headers {
        parts.headers.insert(name.clone(), value.clone());
    }
    let upstream = &conn.shared.upstream;
    let request = match upstream_request(parts, buffered(body), upstream) {
        Ok(request) => request,
        Err(refusal) => {
            tracing::warn!(reason = %refusal.message(), "substitute request not sent");
            return;
        }
    };
    match conn.upstream.send_discarding(upstream, request).await {
        Ok(answer) => tracing::info!(
            status = answer.status,
            len = answer.len,
            head = %answer.head,
            "substitute request answered; answer discarded"
        ),
        Err(e) => tracing::warn!(
            error = %e,
            "substitute request failed; the client's answer is unchanged"
        ),
    }
}

/// The endpoint's status and latency, or the 502/504 the proxy answers in its place.
fn upstream_outcome<B>(response: &Result<Response<B>, Refusal>, sent: Instant) -> UpstreamOutcome {
    let (status, failure) = match response {
        Ok(r) => (r.status().as_u16(), None),
        Err(refusal) => (refusal.status().as_u16(), Some(failure_of(refusal))),
    };
    UpstreamOutcome {
        status,
        failure,
        latency: sent.elapsed(),
    }
}

fn failure_of(refusal: &Refusal) -> UpstreamFailure {
    match refusal {
        Refusal::Forward(ForwardError::Connect { .. }) => UpstreamFailure::Connect,
        Refusal::Forward(ForwardError::Tls { .. }) => UpstreamFailure::Tls,
        Refusal::Forward(
            ForwardError::ConnectTimeout { .. } | ForwardError::ResponseTimeout { .. },
        ) => UpstreamFailure::Timeout,
        Refusal::Forward(ForwardError::Exchange { .. }) => UpstreamFailure::Exchange,
        _ => UpstreamFailure::ClientBody,
    }
}

/// Refusals decided from the head alone, before any body byte is read.
fn check_head(parts: &http::request::Parts, limits: &LimitsConfig) -> Result<(), Refusal> {
    if parts.method == Method::CONNECT || parts.headers.contains_key(header::UPGRADE) {
        return Err(Refusal::Upgrade);
    }
    if !parts.uri.path().starts_with('/') {
        return Err(Refusal::Target);
    }
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limits.max_body_bytes) {
        return Err(Refusal::Body(super::body::BodyError::TooLarge {
            limit: limits.max_body_bytes,
        }));
    }
    Ok(())
}

fn buffered(bytes: Bytes) -> ForwardBody {
    ForwardBody::Buffered(Full::new(bytes))
}

/// The request as the endpoint gets it: its path under the URL prefix, its own `Host`, no
/// hop-by-hop headers, everything else (including `Authorization`) untouched.
fn upstream_request(
    mut parts: http::request::Parts,
    body: ForwardBody,
    upstream: &Upstream,
) -> Result<Request<ForwardBody>, Refusal> {
    let path_and_query = parts.uri.path_and_query().ok_or(Refusal::Target)?;
    parts.uri = upstream.target(path_and_query).ok_or(Refusal::Target)?;
    parts.version = http::Version::HTTP_11;
    strip_hop_by_hop(&mut parts.headers);
    // hyper already answered `Expect: 100-continue` towards the client when the body was read.
    parts.headers.remove(header::EXPECT);
    parts.headers.insert(header::HOST, upstream.host().clone());
    if let ForwardBody::Buffered(full) = &body {
        let len = hyper::body::Body::size_hint(full).exact().unwrap_or(0);
        parts
            .headers
            .insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    }
    Ok(Request::from_parts(parts, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(request: http::request::Builder) -> http::request::Parts {
        request.body(()).unwrap().into_parts().0
    }

    fn upstream() -> Upstream {
        let config = toml::from_str("url = \"http://10.0.0.5:5985/prefix\"").unwrap();
        Upstream::from_config(&config).unwrap()
    }

    #[test]
    fn upgrades_connect_and_oversized_declared_bodies_are_refused_from_the_head() {
        let limits = LimitsConfig {
            max_body_bytes: 10,
            ..LimitsConfig::default()
        };
        let upgrade = parts(Request::get("/wsman").header("upgrade", "websocket"));
        assert!(matches!(
            check_head(&upgrade, &limits),
            Err(Refusal::Upgrade)
        ));
        let connect = parts(Request::connect("localhost:443"));
        assert!(matches!(
            check_head(&connect, &limits),
            Err(Refusal::Upgrade)
        ));
        let at_limit = parts(Request::post("/wsman").header("content-length", "10"));
        assert!(check_head(&at_limit, &limits).is_ok());
        let over = parts(Request::post("/wsman").header("content-length", "11"));
        assert_eq!(check_head(&over, &limits).unwrap_err().status(), 413);
    }

    #[test]
    fn the_upstream_request_gets_the_prefix_host_and_exact_length_and_loses_expect() {
        let head = parts(
            Request::post("https://gateway.contoso.com/wsman?a=1")
                .header("host", "gateway.contoso.com")
                .header("expect", "100-continue")
                .header("transfer-encoding", "chunked")
                .header("authorization", "Basic YTpi"),
        );
        let body = buffered(Bytes::from_static(b"12345"));
        let request = upstream_request(head, body, &upstream()).unwrap();
        assert_eq!(request.uri(), "/prefix/wsman?a=1");
        let h = request.headers();
        assert_eq!(h["host"], "10.0.0.5:5985");
        assert_eq!(h["content-length"], "5");
        assert_eq!(h["authorization"], "Basic YTpi");
        assert!(!h.contains_key("expect") && !h.contains_key("transfer-encoding"));
    }
}
