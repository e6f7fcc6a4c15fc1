//! Transport limits at their edges, through the real binary: body size (declared and chunked),
//! header and body read timeouts, the connection limit, and refused upgrades.

mod common;

use common::*;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;

const LIMIT: usize = 1000;
const IDLE: Duration = Duration::from_secs(5);

fn limited(certs: &Certs, upstream: &Upstream) -> String {
    GatewayConfig::new(certs, &upstream.url)
        .limits(&format!("max_body_bytes = {LIMIT}"))
        .text()
}

fn with_length(len: usize) -> Vec<u8> {
    let mut r = format!(
        "POST /wsman HTTP/1.1\r\nHost: localhost\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n"
    )
    .into_bytes();
    r.resize(r.len() + len, b'x');
    r
}

fn chunked(len: usize) -> Vec<u8> {
    let mut r = format!(
        "POST /wsman HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{len:x}\r\n"
    )
    .into_bytes();
    r.resize(r.len() + len, b'x');
    r.extend_from_slice(b"\r\n0\r\n\r\n");
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declared_body_of_exactly_the_limit_passes_and_one_byte_more_gets_413() {
    let certs = Certs::new();
    let mut upstream = Upstream::start(ok).await;
    let gateway = Gateway::start(&limited(&certs, &upstream));
    let config = certs.client_config();

    let reply = raw_exchange(gateway.addr, &config, &with_length(LIMIT), IDLE).await;
    assert_eq!(reply.status(), Some(200), "{}", reply.text());
    assert_eq!(upstream.next_seen().await.body.len(), LIMIT);

    // Only the head: the refusal comes before any body byte is read (as with Expect: 100-continue).
    let head = format!(
        "POST /wsman HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\n\r\n",
        LIMIT + 1
    );
    let reply = raw_exchange(gateway.addr, &config, head.as_bytes(), IDLE).await;
    assert_eq!(reply.status(), Some(413), "{}", reply.text());
    assert!(reply.text().contains("max_body_bytes"), "{}", reply.text());
    assert!(reply.closed);
    assert!(upstream.saw_nothing());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunked_body_of_exactly_the_limit_passes_and_one_byte_more_gets_413() {
    let certs = Certs::new();
    let mut upstream = Upstream::start(ok).await;
    let gateway = Gateway::start(&limited(&certs, &upstream));
    let config = certs.client_config();

    let reply = raw_exchange(gateway.addr, &config, &chunked(LIMIT), IDLE).await;
    assert_eq!(reply.status(), Some(200), "{}", reply.text());
    assert_eq!(upstream.next_seen().await.body.len(), LIMIT);

    let reply = raw_exchange(gateway.addr, &config, &chunked(LIMIT + 1), IDLE).await;
    assert_eq!(reply.status(), Some(413), "{}", reply.text());
    assert!(reply.closed);
    assert!(
        upstream.saw_nothing(),
        "a cut-off body must not reach the endpoint as complete"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_header_sender_is_cut_off_at_the_header_read_timeout() {
    let certs = Certs::new();
    let mut upstream = Upstream::start(ok).await;
    let gateway = Gateway::start(
        &GatewayConfig::new(&certs, &upstream.url)
            .limits("header_read_timeout_ms = 300")
            .text(),
    );
    let config = certs.client_config();

    let mut tls = tls_connect(gateway.addr, &config).await.unwrap();
    let started = Instant::now();
    tls.write_all(b"POST /wsman HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
        .await
        .unwrap();
    let reply = read_reply(&mut tls, WAIT).await;
    let waited = started.elapsed();
    assert!(reply.closed, "the slow sender was not cut off");
    assert!(
        waited >= Duration::from_millis(300),
        "cut off too early: {waited:?}"
    );
    assert!(
        waited < Duration::from_secs(10),
        "cut off too late: {waited:?}"
    );
    assert!(upstream.saw_nothing());

    // A client that completes its head in time is served on the same gateway.
    let reply = raw_exchange(gateway.addr, &config, &with_length(3), IDLE).await;
    assert_eq!(reply.status(), Some(200));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_tls_handshake_is_cut_off_at_the_header_read_timeout() {
    let certs = Certs::new();
    let upstream = Upstream::start(ok).await;
    let gateway = Gateway::start(
        &GatewayConfig::new(&certs, &upstream.url)
            .limits("header_read_timeout_ms = 300")
            .text(),
    );
    let mut tcp = tokio::net::TcpStream::connect(gateway.addr).await.unwrap();
    let started = Instant::now();
    let reply = read_reply(&mut tcp, WAIT).await;
    assert!(reply.closed);
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_slower_than_the_body_read_timeout_gets_408() {
    let certs = Certs::new();
    let mut upstream = Upstream::start(ok).await;
    let gateway = Gateway::start(
        &GatewayConfig::new(&certs, &upstream.url)
            .limits("body_read_timeout_ms = 300")
            .text(),
    );
    let partial = b"POST /wsman HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\nhalf";
    let started = Instant::now();
    let reply = raw_exchange(gateway.addr, &certs.client_config(), partial, IDLE).await;
    assert_eq!(reply.status(), Some(408), "{}", reply.text());
    assert!(reply.text().contains("body_read_timeout_ms"));
    assert!(reply.closed);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(upstream.saw_nothing());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_max_connections_wait_until_one_closes() {
    let certs = Certs::new();
    let upstream = Upstream::start(ok).await;
    let gateway = Gateway::start(
        &GatewayConfig::new(&certs, &upstream.url)
            .limits("max_connections = 1")
            .text(),
    );
    let config = certs.client_config();
    let mut first = HttpClient::connect(gateway.addr, &config).await.unwrap();
    assert_eq!(
        first.send(request("GET", "/", "")).await.unwrap().status(),
        200
    );

    let addr = gateway.addr;
    let mut second = tokio::spawn({
        let config = config.clone();
        async move { HttpClient::connect(addr, &config).await }
    });
    // The second handshake cannot complete while the first connection holds the only slot.
    let held = tokio::time::timeout(Duration::from_millis(500), &mut second).await;
    assert!(
        held.is_err(),
        "a second connection was served over max_connections = 1"
    );
    drop(first);
    let mut second = tokio::time::timeout(WAIT, second)
        .await
        .expect("second connection served after the first closed")
        .unwrap()
        .unwrap();
    assert_eq!(
        second.send(request("GET", "/", "")).await.unwrap().status(),
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrade_and_connect_are_refused_with_400_and_a_closed_connection() {
    let certs = Certs::new();
    let mut upstream = Upstream::start(ok).await;
    let gateway = Gateway::start(&GatewayConfig::new(&certs, &upstream.url).text());
    for head in [
        "GET /wsman HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
        "CONNECT localhost:443 HTTP/1.1\r\nHost: localhost:443\r\n\r\n",
    ] {
        let reply = raw_exchange(gateway.addr, &certs.client_config(), head.as_bytes(), IDLE).await;
        assert_eq!(reply.status(), Some(400), "{head}: {}", reply.text());
        assert!(reply.closed, "{head}");
    }
    assert!(upstream.saw_nothing());
}
