//! `GET /v1/ratelimit` and `GET /metrics` mounted on the real admin API (HTTPS on
//! 127.0.0.1:0), and the real `runspace-gateway ratelimit status` binary reading them.

mod admin_support;

use admin_support::*;
use runspace_gateway::clock::{Clock, FakeClock};
use runspace_gateway::config::RateLimitRule;
use runspace_gateway::invocation::{Command, Invocation, Protocol};
use runspace_gateway::metrics::{metrics_route, Metrics, CONTENT_TYPE, METRICS_PATH};
use runspace_gateway::policy::RateCheck;
use runspace_gateway::ratelimit::{status_route, RateLimitStatus, RateLimiter, STATUS_PATH};
use std::sync::Arc;

struct Limits {
    clock: FakeClock,
    limiter: Arc<RateLimiter>,
    metrics: Metrics,
}

/// A limiter where mallory has been throttled three times.
fn throttled_limits() -> Limits {
    #[derive(serde::Deserialize)]
    struct Rules {
        ratelimit: Vec<RateLimitRule>,
    }
    let rules: Rules =
        toml::from_str("[[ratelimit]]\nname = \"per-user\"\nkey = \"principal\"\nper_minute = 1\n")
            .unwrap();
    let clock = FakeClock::new(1_700_000_000_000);
    let metrics = Metrics::default();
    let limiter = RateLimiter::new(&rules.ratelimit, Arc::new(clock.clone()))
        .unwrap()
        .with_metrics(metrics.clone());
    let inv = Invocation {
        principal: MALLORY.into(),
        protocol: Protocol::Winrm,
        tenant: None,
        shell_id: None,
        command_id: None,
        statements: vec![vec![Command {
            name: "Get-Mailbox".into(),
            module: None,
            params: vec![],
            positional: vec![],
            is_script: false,
            has_script_block: false,
        }]],
    };
    for _ in 0..4 {
        let _ = limiter.check(&inv, clock.now_ms());
    }
    Limits {
        clock,
        limiter: Arc::new(limiter),
        metrics,
    }
}

async fn start_with_limits(l: &Limits) -> Running {
    let status = status_route(l.limiter.clone(), Arc::new(l.clock.clone()));
    let scrape = metrics_route(l.metrics.clone());
    start_with(false, settings(), move |api| {
        api.with_route(http::Method::GET, STATUS_PATH, false, status)
            .with_route(http::Method::GET, METRICS_PATH, true, scrape)
    })
    .await
}

async fn cli(g: &Running, token: &str, json: bool) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_runspace-gateway"));
    cmd.args(["ratelimit", "status"])
        .env("RUNSPACE_GATEWAY_ADMIN", g.url())
        .env("RUNSPACE_GATEWAY_TOKEN", token)
        .env("RUNSPACE_GATEWAY_CA", &g.pki.ca)
        .current_dir(g.tmp.path());
    if json {
        cmd.arg("--json");
    }
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_shows_the_rules_and_the_most_throttled_keys() {
    let l = throttled_limits();
    let g = start_with_limits(&l).await;

    let out = cli(&g, "alice", true).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: RateLimitStatus = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(got, l.limiter.status(l.clock.now_ms()));
    assert_eq!(
        (
            got.top_throttled[0].key.as_str(),
            got.top_throttled[0].count
        ),
        (MALLORY, 3)
    );

    let out = cli(&g, "alice", false).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        text.contains("per-user") && text.contains("1/minute"),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("3 ") && l.ends_with(MALLORY)),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_needs_a_valid_token() {
    let l = throttled_limits();
    let g = start_with_limits(&l).await;
    let out = cli(&g, "not-a-token", false).await;
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("401") && err.contains("bearer token is not valid"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_served_as_openmetrics_with_the_throttle_counts() {
    let l = throttled_limits();
    let g = start_with_limits(&l).await;
    // The shared client expects JSON; read the scrape with a bare TLS GET instead.
    let (status, content_type, body) = scrape(&g).await;
    assert_eq!(status, 200);
    assert_eq!(content_type, CONTENT_TYPE);
    assert!(
        body.lines()
            .any(|l| l == "runspace_gateway_ratelimit_throttles_total{rule=\"per-user\"} 3"),
        "{body}"
    );
}

async fn scrape(g: &Running) -> (u16, String, String) {
    use http_body_util::{BodyExt, Empty};
    use rustls::pki_types::{pem::PemObject, CertificateDer, ServerName};
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(&g.pki.ca).unwrap())
        .unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(g.addr).await.unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("127.0.0.1").unwrap(), tcp)
        .await
        .unwrap();
    let (mut send, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
        .await
        .unwrap();
    tokio::spawn(conn);
    let req = http::Request::get(METRICS_PATH)
        .header(http::header::HOST, g.addr.to_string())
        .body(Empty::<bytes::Bytes>::new())
        .unwrap();
    let resp = send.send_request(req).await.unwrap();
    let status = resp.status().as_u16();
    let ct = resp.headers()[http::header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_string();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, ct, String::from_utf8(body.to_vec()).unwrap())
}
