//! One HTTP connection of the mock: routing, authentication, body limits.

use super::echo::Caller;
use super::{auth, rest, MockState};
use crate::invocation::Protocol;
use bytes::Bytes;
use http::{header, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio::sync::watch;

/// Largest request body the mock reads. pypsrp's envelopes are at most 500 KiB and REST bodies
/// are small; this leaves room for hostile-size tests without unbounded memory.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

const REALM: &str = "Basic realm=\"runspace-gateway-mock\"";

pub(super) async fn serve_connection(
    state: Arc<MockState>,
    stream: TcpStream,
    mut stop: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let service = hyper::service::service_fn(move |req| handle(state.clone(), req));
    let conn = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = stop.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

/// Which front door a path belongs to.
enum Door<'a> {
    Winrm,
    Rest(rest::Route<'a>),
}

fn door(path: &str) -> Option<Door<'_>> {
    let trimmed = path.trim_end_matches('/');
    let winrm = ["/wsman", "/powershell", "/powershell-liveid"]
        .iter()
        .any(|p| trimmed.eq_ignore_ascii_case(p));
    if winrm {
        return Some(Door::Winrm);
    }
    rest::route(path).map(Door::Rest)
}

async fn handle(
    state: Arc<MockState>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (head, body) = req.into_parts();
    let Some(door) = door(head.uri.path()) else {
        return Ok(text(StatusCode::NOT_FOUND, "no such endpoint on the mock: use /wsman, /PowerShell, /powershell-liveid or /adminapi/{ver}/{tenant}/InvokeCommand|$batch"));
    };
    if head.method != Method::POST {
        return Ok(text(
            StatusCode::METHOD_NOT_ALLOWED,
            "the mock answers POST only",
        ));
    }
    let bearer_ok = matches!(door, Door::Rest(_));
    let authz = head
        .headers
        .get(header::AUTHORIZATION)
        .map(|v| v.as_bytes());
    let user = match auth::authenticate(authz, &state.users, bearer_ok) {
        Ok(u) => u,
        Err(e) => {
            let mut resp = text(StatusCode::UNAUTHORIZED, &e.to_string());
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static(REALM),
            );
            return Ok(resp);
        }
    };
    let body = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            let msg = format!("request body over the mock's limit of {MAX_BODY_BYTES} bytes, or the connection failed while reading it");
            return Ok(text(StatusCode::PAYLOAD_TOO_LARGE, &msg));
        }
    };
    let host = head
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    match door {
        Door::Rest(route) => Ok(rest_reply(&state, &user, host, route, &body)),
        Door::Winrm => {
            let reply = super::winrm::handle(&state, &user, head.uri.query(), &body).await;
            Ok(soap_reply(reply))
        }
    }
}

fn rest_reply(
    state: &MockState,
    user: &str,
    host: &str,
    route: rest::Route<'_>,
    body: &[u8],
) -> Response<Full<Bytes>> {
    let (version, tenant, is_batch) = match route {
        rest::Route::InvokeCommand { version, tenant } => (version, tenant, false),
        rest::Route::Batch { version, tenant } => (version, tenant, true),
    };
    let caller = Caller {
        user,
        protocol: Protocol::Rest,
        tenant: Some(tenant),
        shell_id: None,
        command_id: None,
    };
    let reply = if is_batch {
        rest::batch(state, &caller, host, version, body)
    } else {
        rest::invoke_command(state, &caller, host, version, body)
    };
    let body = serde_json::to_vec(&reply.body).unwrap_or_default();
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(
            "application/json;odata.metadata=minimal;odata.streaming=true;charset=utf-8",
        ),
    );
    resp
}

fn soap_reply(reply: super::winrm::SoapReply) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(reply.body)));
    *resp.status_mut() =
        StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/soap+xml;charset=UTF-8"),
    );
    resp
}

fn text(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(format!("{message}\n"))));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}
