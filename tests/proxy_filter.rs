//! The library entry point and the request-filter phase, in process: `Server::bind` with a
//! filter that inspects some paths, answers some requests itself and sees the mTLS principal.

mod common;

use bytes::Bytes;
use common::*;
use http_body_util::Full;
use runspace_gateway::config::Config;
use runspace_gateway::proxy::{ConnContext, FilterFuture, FilterOutcome, RequestFilter, Server};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Inspects `/wsman`: refuses bodies mentioning `Remove-Mailbox` (403, naming the principal),
/// answers bodies mentioning `Clean-Up` with 409 while sending [`SUBSTITUTE`] upstream instead,
/// forwards the rest unchanged. Counts its calls.
#[derive(Default)]
struct TestFilter {
    calls: AtomicUsize,
}

impl RequestFilter for TestFilter {
    fn wants_body(&self, head: &http::request::Parts) -> bool {
        head.uri.path().starts_with("/wsman")
    }

    fn filter<'a>(
        &'a self,
        conn: &'a ConnContext,
        _head: &'a http::request::Parts,
        body: Bytes,
    ) -> FilterFuture<'a> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            if body.windows(14).any(|w| w == b"Remove-Mailbox") {
                let who = conn.client_cert_principal.clone().unwrap_or_default();
                let response = http::Response::builder()
                    .status(403)
                    .body(Full::new(Bytes::from(format!("denied for {who}"))))
                    .unwrap();
                FilterOutcome::Respond(response)
            } else if body.windows(8).any(|w| w == b"Clean-Up") {
                let mut set_headers = http::HeaderMap::new();
                set_headers.insert("soapaction", "urn:substitute".parse().unwrap());
                FilterOutcome::ForwardInstead {
                    body: Bytes::from_static(SUBSTITUTE),
                    set_headers,
                    respond: http::Response::builder()
                        .status(409)
                        .body(Full::new(Bytes::from_static(b"answered by the filter")))
                        .unwrap(),
                }
            } else {
                FilterOutcome::Forward(body)
            }
        })
    }
}

/// What the filter sends upstream in place of a `Clean-Up` request.
const SUBSTITUTE: &[u8] = b"<substitute>a longer body than the client's</substitute>";

struct Running {
    addr: std::net::SocketAddr,
    filter: Arc<TestFilter>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<()>,
}

async fn start(certs: &Certs, upstream: &Upstream) -> Running {
    start_to(certs, &upstream.url).await
}

async fn start_to(certs: &Certs, upstream_url: &str) -> Running {
    let text = GatewayConfig::new(certs, upstream_url)
        .mtls(certs)
        .limits("max_body_bytes = 100")
        .text();
    let config = Config::parse(&text, Path::new("test.toml")).unwrap();
    let filter = Arc::new(TestFilter::default());
    let server = Server::bind(&config, filter.clone()).await.unwrap();
    let addr = server.local_addr();
    assert_ne!(addr.port(), 0);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let done = tokio::spawn(server.run(async {
        let _ = stopped.await;
    }));
    Running {
        addr,
        filter,
        stop: Some(stop),
        done,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_filter_sees_inspected_bodies_and_may_answer_instead_of_forwarding() {
    let certs = Certs::new();
    let mut upstream = Upstream::start(ok).await;
    let mut gateway = start(&certs, &upstream).await;
    let mut client = HttpClient::connect(gateway.addr, &certs.client_config_with(true, None))
        .await
        .unwrap();

    let allowed = client
        .send(request("POST", "/wsman", "Get-Mailbox"))
        .await
        .unwrap();
    assert_eq!(allowed.status(), 200);
    let seen = upstream.next_seen().await;
    assert_eq!(seen.body.as_ref(), b"Get-Mailbox");
    assert_eq!(seen.headers["content-length"], "11");

    let denied = client
        .send(request("POST", "/wsman", "Remove-Mailbox x"))
        .await
        .unwrap();
    assert_eq!(denied.status(), 403);
    assert_eq!(denied.body().as_ref(), b"denied for admin@contoso.com");
    assert!(upstream.saw_nothing());

    // Not inspected: streamed past the filter.
    let other = client
        .send(request("POST", "/other", "Remove-Mailbox"))
        .await
        .unwrap();
    assert_eq!(other.status(), 200);
    upstream.next_seen().await;
    assert_eq!(gateway.filter.calls.load(Ordering::SeqCst), 2);

    gateway.stop.take().unwrap().send(()).unwrap();
    drop(client);
    tokio::time::timeout(WAIT, &mut gateway.done)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inspected_body_over_the_limit_gets_413_without_reaching_the_filter() {
    let certs = Certs::new();
    let mut upstream = Upstream::start(ok).await;
    let gateway = start(&certs, &upstream).await;
    let config = certs.client_config_with(true, None);
    let mut body =
        b"POST /wsman HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n65\r\n"
            .to_vec();
    body.resize(body.len() + 101, b'x');
    body.extend_from_slice(b"\r\n0\r\n\r\n");
    let reply = raw_exchange(
        gateway.addr,
        &config,
        &body,
        std::time::Duration::from_secs(5),
    )
    .await;
    assert_eq!(reply.status(), Some(413), "{}", reply.text());
    assert_eq!(gateway.filter.calls.load(Ordering::SeqCst), 0);
    assert!(upstream.saw_nothing());
}

/// The endpoint's answer to the substitute: a fault bigger than one read, which the proxy must
/// read to its end so the upstream connection stays usable.
async fn fault_for_substitute(seen: Seen) -> http::Response<Full<Bytes>> {
    if seen.body.as_ref() != SUBSTITUTE {
        return http::Response::new(Full::new(Bytes::from_static(b"ok")));
    }
    http::Response::builder()
        .status(500)
        .body(Full::new(Bytes::from(vec![b'f'; 64 * 1024])))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forward_instead_sends_the_substitute_and_answers_the_client_with_the_filters_response() {
    let certs = Certs::new();
    let mut upstream = Upstream::start(fault_for_substitute).await;
    let gateway = start(&certs, &upstream).await;
    let mut client = HttpClient::connect(gateway.addr, &certs.client_config_with(true, None))
        .await
        .unwrap();

    let mut req = request("POST", "/wsman?PSVersion=5.1", "Clean-Up x");
    let headers = req.headers_mut();
    headers.insert("soapaction", "urn:original".parse().unwrap());
    headers.insert("authorization", "Basic YTpi".parse().unwrap());
    let answered = client.send(req).await.unwrap();
    assert_eq!(answered.status(), 409);
    assert_eq!(answered.body().as_ref(), b"answered by the filter");

    let seen = upstream.next_seen().await;
    assert_eq!(seen.body.as_ref(), SUBSTITUTE);
    assert_eq!(
        seen.headers["content-length"],
        SUBSTITUTE.len().to_string().as_str()
    );
    assert_eq!(seen.headers["soapaction"], "urn:substitute");
    assert_eq!(seen.headers["authorization"], "Basic YTpi");
    assert_eq!(seen.uri, "/wsman?PSVersion=5.1");

    // The endpoint's 64 KiB fault was read to its end: the next request of this client goes
    // on the same upstream connection.
    let next = client
        .send(request("POST", "/wsman", "Get-Mailbox"))
        .await
        .unwrap();
    assert_eq!(next.status(), 200);
    assert_eq!(next.body().as_ref(), b"ok");
    let after = upstream.next_seen().await;
    assert_eq!(after.body.as_ref(), b"Get-Mailbox");
    assert_eq!(
        after.peer, seen.peer,
        "the upstream connection was not reused"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forward_instead_answers_the_client_even_when_the_endpoint_is_down() {
    let certs = Certs::new();
    let down = format!("http://{}", closed_port().await);
    let gateway = start_to(&certs, &down).await;
    let mut client = HttpClient::connect(gateway.addr, &certs.client_config_with(true, None))
        .await
        .unwrap();
    let answered = client
        .send(request("POST", "/wsman", "Clean-Up x"))
        .await
        .unwrap();
    assert_eq!(answered.status(), 409);
    assert_eq!(answered.body().as_ref(), b"answered by the filter");
    // A plain forward on the same connection shows the endpoint really is down.
    let forwarded = client
        .send(request("POST", "/wsman", "Get-Mailbox"))
        .await
        .unwrap();
    assert_eq!(forwarded.status(), 502);
}
