//! Forwarding through the real binary: TLS in, bytes and headers unchanged, hop-by-hop headers
//! removed, the URL prefix kept, connection affinity, large streamed bodies, 502 and 504.

mod common;

use bytes::Bytes;
use common::*;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Frame};
use std::pin::Pin;
use std::task::{Context, Poll};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_reaches_the_upstream_unchanged_and_the_response_comes_back() {
    let certs = Certs::new();
    let mut upstream = Upstream::start(|_| async {
        Response::builder()
            .header("x-resp", "from-endpoint")
            .header("connection", "x-up-hop")
            .header("x-up-hop", "1")
            .header("keep-alive", "timeout=5")
            .body(Full::new(Bytes::from_static(
                b"<s:Envelope>reply</s:Envelope>",
            )))
            .unwrap()
    })
    .await;
    let url = format!("{}/base/", upstream.url);
    let gateway = Gateway::start(&GatewayConfig::new(&certs, &url).text());
    let mut client = HttpClient::connect(gateway.addr, &certs.client_config())
        .await
        .unwrap();

    let body: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    let request = Request::builder()
        .method("POST")
        .uri("/wsman?PSVersion=7.4.6")
        .header("host", "gateway.contoso.com")
        .header("authorization", "Negotiate TlRMTVNTUAABAAAAB4IIog==")
        .header("content-type", "application/soap+xml;charset=UTF-8")
        .header("x-custom", "Mixed Case; q=1")
        .header("connection", "keep-alive, x-hop")
        .header("x-hop", "hop")
        .header("keep-alive", "timeout=5")
        .header("proxy-authorization", "Basic c2VjcmV0")
        .header("te", "trailers")
        .body(full(body.clone()))
        .unwrap();
    let response = client.send(request).await.unwrap();

    assert_eq!(response.status(), 200);
    assert_eq!(response.body().as_ref(), b"<s:Envelope>reply</s:Envelope>");
    assert_eq!(response.headers()["x-resp"], "from-endpoint");
    assert!(!response.headers().contains_key("x-up-hop"));
    assert!(!response.headers().contains_key("keep-alive"));

    let seen = upstream.next_seen().await;
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.uri, "/base/wsman?PSVersion=7.4.6");
    assert_eq!(seen.body.as_ref(), body.as_slice());
    let h = &seen.headers;
    assert_eq!(h["host"], upstream.addr.to_string().as_str());
    assert_eq!(h["authorization"], "Negotiate TlRMTVNTUAABAAAAB4IIog==");
    assert_eq!(h["content-type"], "application/soap+xml;charset=UTF-8");
    assert_eq!(h["x-custom"], "Mixed Case; q=1");
    assert_eq!(h["content-length"], "70000");
    for gone in ["x-hop", "keep-alive", "proxy-authorization", "te"] {
        assert!(!h.contains_key(gone), "{gone} reached the upstream");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_client_connection_gets_its_own_reused_upstream_connection() {
    let certs = Certs::new();
    let mut upstream = Upstream::start(ok).await;
    let gateway = Gateway::start(&GatewayConfig::new(&certs, &upstream.url).text());
    let config = certs.client_config();
    let mut alice = HttpClient::connect(gateway.addr, &config).await.unwrap();
    let mut bob = HttpClient::connect(gateway.addr, &config).await.unwrap();

    alice.send(request("POST", "/wsman", "a1")).await.unwrap();
    let a1 = upstream.next_seen().await.peer;
    bob.send(request("POST", "/wsman", "b1")).await.unwrap();
    let b1 = upstream.next_seen().await.peer;
    alice.send(request("POST", "/wsman", "a2")).await.unwrap();
    let a2 = upstream.next_seen().await.peer;
    bob.send(request("POST", "/wsman", "b2")).await.unwrap();
    let b2 = upstream.next_seen().await.peer;

    assert_eq!(
        a1, a2,
        "alice's requests should share one upstream connection"
    );
    assert_eq!(
        b1, b2,
        "bob's requests should share one upstream connection"
    );
    assert_ne!(
        a1, b1,
        "two clients must never share an upstream connection"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_upstream_connection_is_reopened_for_the_next_request() {
    let certs = Certs::new();
    let mut upstream = Upstream::start(|_| async {
        Response::builder()
            .header("connection", "close")
            .body(Full::new(Bytes::from_static(b"bye")))
            .unwrap()
    })
    .await;
    let gateway = Gateway::start(&GatewayConfig::new(&certs, &upstream.url).text());
    let mut client = HttpClient::connect(gateway.addr, &certs.client_config())
        .await
        .unwrap();
    for _ in 0..3 {
        let response = client.send(request("GET", "/wsman", "")).await.unwrap();
        assert_eq!(response.status(), 200);
        assert!(!response.headers().contains_key("connection"));
    }
    let peers: Vec<_> = [
        upstream.next_seen().await,
        upstream.next_seen().await,
        upstream.next_seen().await,
    ]
    .iter()
    .map(|s| s.peer)
    .collect();
    assert!(peers[0] != peers[1] && peers[1] != peers[2]);
}

/// A generated request body of `total` bytes that pauses after the first piece until `resume`
/// fires: the upstream can only release it if the gateway streams instead of buffering.
struct PausingBody {
    sent: usize,
    total: usize,
    resume: Option<tokio::sync::oneshot::Receiver<()>>,
}

const PIECE: usize = 64 * 1024;

/// The generated bodies repeat one byte value per 64 KiB piece (cheap to make and check).
fn pattern_at(offset: usize) -> u8 {
    ((offset / PIECE) % 251) as u8
}

/// Whether `data`, found at `offset` of a generated body, is what was generated.
fn intact(data: &[u8], offset: usize) -> bool {
    let mut at = 0;
    while at < data.len() {
        let piece_end = (offset + at) / PIECE * PIECE + PIECE;
        let end = data.len().min(at + piece_end - (offset + at));
        if data[at..end] != vec![pattern_at(offset + at); end - at][..] {
            return false;
        }
        at = end;
    }
    true
}

impl Body for PausingBody {
    type Data = Bytes;
    type Error = BoxError;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if self.sent >= self.total {
            return Poll::Ready(None);
        }
        if self.sent >= PIECE {
            if let Some(resume) = self.resume.as_mut() {
                match Pin::new(resume).poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(_) => self.resume = None,
                }
            }
        }
        let n = PIECE.min(self.total - self.sent);
        let piece = vec![pattern_at(self.sent); n];
        self.sent += n;
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(piece)))))
    }
}

use std::future::Future;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_50_mb_body_streams_through_in_both_directions() {
    const TOTAL: usize = 50 * 1024 * 1024;
    let certs = Certs::new();
    let (resume_tx, resume_rx) = tokio::sync::oneshot::channel::<()>();
    let resume_tx = std::sync::Mutex::new(Some(resume_tx));

    // A streaming upstream: it releases the client's body after its first bytes arrive, checks
    // every byte, and answers with a 50 MB body of its own.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream_url = format!("http://{}", listener.local_addr().unwrap());
    let resume_tx = std::sync::Arc::new(resume_tx);
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
            let resume_tx = resume_tx.clone();
            async move {
                let mut body = req.into_body();
                let mut received = 0usize;
                let mut all_intact = true;
                while let Some(frame) = body.frame().await {
                    let data = frame?.into_data().unwrap_or_default();
                    all_intact &= intact(&data, received);
                    received += data.len();
                    if let Some(tx) = resume_tx.lock().unwrap().take() {
                        let _ = tx.send(());
                    }
                }
                let reply = PausingBody {
                    sent: 0,
                    total: TOTAL,
                    resume: None,
                };
                let response = Response::builder()
                    .header("x-received", received.to_string())
                    .header("x-intact", all_intact.to_string())
                    .body(reply.boxed_unsync())
                    .unwrap();
                Ok::<_, hyper::Error>(response)
            }
        });
        hyper::server::conn::http1::Builder::new()
            .serve_connection(hyper_util::rt::TokioIo::new(tcp), service)
            .await
            .unwrap();
    });

    let gateway = Gateway::start(
        &GatewayConfig::new(&certs, &upstream_url)
            .limits("max_body_bytes = 67108864")
            .text(),
    );
    let mut client = HttpClient::connect(gateway.addr, &certs.client_config())
        .await
        .unwrap();
    let body = PausingBody {
        sent: 0,
        total: TOTAL,
        resume: Some(resume_rx),
    };
    let request = Request::builder()
        .method("POST")
        .uri("/upload")
        .header("host", "localhost")
        .header("content-length", TOTAL.to_string())
        .body(body.boxed_unsync())
        .unwrap();
    let response = client.send_streaming(request).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-received"], TOTAL.to_string().as_str());
    assert_eq!(response.headers()["x-intact"], "true");
    let mut body = response.into_body();
    let mut received = 0usize;
    while let Some(frame) = body.frame().await {
        let data = frame.unwrap().into_data().unwrap_or_default();
        assert!(intact(&data, received), "response corrupted at {received}");
        received += data.len();
    }
    assert_eq!(received, TOTAL);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_upstream_gives_502_saying_what_to_check() {
    let certs = Certs::new();
    let down = closed_port().await;
    let gateway = Gateway::start(&GatewayConfig::new(&certs, &format!("http://{down}")).text());
    let mut client = HttpClient::connect(gateway.addr, &certs.client_config())
        .await
        .unwrap();
    let response = client.send(request("POST", "/wsman", "x")).await.unwrap();
    assert_eq!(response.status(), 502);
    let text = String::from_utf8_lossy(response.body());
    assert!(text.contains(&down.to_string()), "{text}");
    assert!(text.contains("[upstream] url"), "{text}");
    // The client connection stays usable after an endpoint failure.
    let again = client.send(request("GET", "/wsman", "")).await.unwrap();
    assert_eq!(again.status(), 502);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_that_does_not_answer_gives_504_after_the_response_timeout() {
    let certs = Certs::new();
    let mut upstream = Upstream::start(|_| std::future::pending()).await;
    let gateway = Gateway::start(
        &GatewayConfig::new(&certs, &upstream.url)
            .upstream_lines("response_timeout_ms = 300")
            .text(),
    );
    let mut client = HttpClient::connect(gateway.addr, &certs.client_config())
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let response = client.send(request("POST", "/wsman", "x")).await.unwrap();
    assert_eq!(response.status(), 504);
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));
    let text = String::from_utf8_lossy(response.body());
    assert!(text.contains("response_timeout_ms"), "{text}");
    upstream.next_seen().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_upstream_is_reached_with_the_configured_ca_and_refused_without_it() {
    let certs = Certs::new();
    let mut upstream = Upstream::start_tls(&certs, ok).await;
    let ca = format!("ca = {:?}", certs.paths.ca_cert);
    let gateway = Gateway::start(
        &GatewayConfig::new(&certs, &format!("{}/prefix", upstream.url))
            .upstream_lines(&ca)
            .text(),
    );
    let mut client = HttpClient::connect(gateway.addr, &certs.client_config())
        .await
        .unwrap();
    let response = client
        .send(request("POST", "/wsman", "over tls"))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let seen = upstream.next_seen().await;
    assert_eq!(seen.uri, "/prefix/wsman");
    assert_eq!(seen.body.as_ref(), b"over tls");
    assert_eq!(
        seen.headers["host"],
        format!("localhost:{}", upstream.addr.port()).as_str()
    );

    // Without [upstream] ca only public roots are trusted: the dev certificate is refused.
    let strict = Gateway::start(&GatewayConfig::new(&certs, &upstream.url).text());
    let mut client = HttpClient::connect(strict.addr, &certs.client_config())
        .await
        .unwrap();
    let response = client.send(request("POST", "/wsman", "x")).await.unwrap();
    assert_eq!(response.status(), 502);
    let text = String::from_utf8_lossy(response.body());
    assert!(
        text.contains("TLS") && text.contains("[upstream] ca"),
        "{text}"
    );
    assert!(upstream.saw_nothing());
}
