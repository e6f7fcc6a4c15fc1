//! The request-smuggling corpus, at the wire level over real TLS: every ambiguous or malformed
//! framing gets 400, the connection is closed, and nothing reaches the endpoint.

mod common;

use common::*;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

const IDLE: Duration = Duration::from_secs(5);

/// (name, raw request). Each would let a front end and a back end disagree on where a request
/// ends, or is a shape hyper would quietly normalise.
const CORPUS: &[(&str, &str)] = &[
    (
        "CL then TE",
        "POST /wsman HTTP/1.1\r\nHost: localhost\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG",
    ),
    (
        "TE then CL",
        "POST /wsman HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nContent-Length: 6\r\n\r\n0\r\n\r\nG",
    ),
    (
        "duplicate equal CL",
        "POST /wsman HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\nContent-Length: 4\r\n\r\nabcd",
    ),
    (
        "conflicting CL",
        "POST /wsman HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde",
    ),
    (
        "CL list",
        "POST /wsman HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4, 4\r\n\r\nabcd",
    ),
    (
        "signed CL",
        "POST /wsman HTTP/1.1\r\nHost: localhost\r\nContent-Length: +4\r\n\r\nabcd",
    ),
    (
        "obs-fold",
        "POST /wsman HTTP/1.1\r\nHost: localhost\r\nX-Folded: one\r\n two\r\nContent-Length: 0\r\n\r\n",
    ),
    (
        "obs-fold on Transfer-Encoding",
        "POST /wsman HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n",
    ),
    (
        "TE not ending in chunked",
        "POST /wsman HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
    ),
    (
        "TE with another coding",
        "POST /wsman HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
    ),
    (
        "TE twice",
        "POST /wsman HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    ),
    (
        "TE on HTTP/1.0",
        "POST /wsman HTTP/1.0\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    ),
    (
        "space before colon",
        "POST /wsman HTTP/1.1\r\nHost: localhost\r\nContent-Length : 4\r\n\r\nabcd",
    ),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_ambiguous_framing_gets_400_and_a_closed_connection() {
    let certs = Certs::new();
    let mut upstream = Upstream::start(ok).await;
    let gateway = Gateway::start(&GatewayConfig::new(&certs, &upstream.url).text());
    let config = certs.client_config();
    for (name, raw) in CORPUS {
        let reply = raw_exchange(gateway.addr, &config, raw.as_bytes(), IDLE).await;
        assert_eq!(reply.statuses(), vec![400], "{name}: {}", reply.text());
        assert!(reply.closed, "{name}: connection left open");
        assert!(upstream.saw_nothing(), "{name}: reached the endpoint");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_smuggled_request_behind_a_clean_one_is_refused_and_only_the_clean_one_forwarded() {
    let certs = Certs::new();
    let mut upstream = Upstream::start(ok).await;
    let gateway = Gateway::start(&GatewayConfig::new(&certs, &upstream.url).text());
    let pipelined = "POST /first HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nhello\
POST /second HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n\
GET /third HTTP/1.1\r\nHost: localhost\r\n\r\n";
    let reply = raw_exchange(
        gateway.addr,
        &certs.client_config(),
        pipelined.as_bytes(),
        IDLE,
    )
    .await;
    assert_eq!(reply.statuses(), vec![200, 400], "{}", reply.text());
    assert!(reply.closed);
    let seen = upstream.next_seen().await;
    assert_eq!(seen.uri, "/first");
    assert_eq!(seen.body.as_ref(), b"hello");
    assert!(
        upstream.saw_nothing(),
        "only the clean first request may be forwarded"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_pipelined_requests_with_chunked_bodies_are_all_forwarded() {
    let certs = Certs::new();
    let mut upstream = Upstream::start(ok).await;
    let gateway = Gateway::start(&GatewayConfig::new(&certs, &upstream.url).text());
    let pipelined = "POST /a HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: t\r\n\r\n\
POST /b HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n\r\nfg\
GET /c HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    let reply = raw_exchange(
        gateway.addr,
        &certs.client_config(),
        pipelined.as_bytes(),
        IDLE,
    )
    .await;
    assert_eq!(reply.statuses(), vec![200, 200, 200], "{}", reply.text());
    let bodies: Vec<_> = [
        upstream.next_seen().await,
        upstream.next_seen().await,
        upstream.next_seen().await,
    ]
    .into_iter()
    .map(|s| (s.uri.to_string(), s.body))
    .collect();
    assert_eq!(bodies[0], ("/a".to_string(), "abcde".into()));
    assert_eq!(bodies[1], ("/b".to_string(), "fg".into()));
    assert_eq!(bodies[2], ("/c".to_string(), "".into()));
}

/// Empty lines before a request line (skipped by hyper, RFC 9112 §2.2) must not shift the
/// guard's count of requests against hyper's, whether they arrive in one read or byte by byte.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leading_blank_lines_keep_guard_and_hyper_on_the_same_request_at_any_read_size() {
    let certs = Certs::new();
    let mut upstream = Upstream::start(ok).await;
    let gateway = Gateway::start(&GatewayConfig::new(&certs, &upstream.url).text());
    let config = certs.client_config();
    let pipelined = "\r\n\r\nPOST /first HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nhello\r\n\
POST /second HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    for piece in [pipelined.len(), 1] {
        let mut tls = tls_connect(gateway.addr, &config)
            .await
            .expect("TLS connect");
        for part in pipelined.as_bytes().chunks(piece) {
            tls.write_all(part).await.expect("write request");
            tls.flush().await.expect("flush request");
        }
        let reply = read_reply(&mut tls, IDLE).await;
        assert_eq!(
            reply.statuses(),
            vec![200, 400],
            "piece {piece}: {}",
            reply.text()
        );
        assert!(reply.closed, "piece {piece}: connection left open");
        let seen = upstream.next_seen().await;
        assert_eq!(
            (seen.uri.path(), seen.body.as_ref()),
            ("/first", &b"hello"[..])
        );
        assert!(
            upstream.saw_nothing(),
            "piece {piece}: smuggled request forwarded"
        );
    }
}
