//! `runspace-gateway ratelimit status` against a real TLS admin endpoint on 127.0.0.1:0
//! serving a real limiter's status.

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use runspace_gateway::clock::{Clock, FakeClock};
use runspace_gateway::config::RateLimitRule;
use runspace_gateway::invocation::{Command, Invocation, Protocol};
use runspace_gateway::policy::RateCheck;
use runspace_gateway::ratelimit::{RateLimitStatus, RateLimiter};
use std::process::Output;
use std::sync::Arc;

const TOKEN: &str = "s3cret-admin-token";

fn limiter_status() -> RateLimitStatus {
    #[derive(serde::Deserialize)]
    struct Rules {
        ratelimit: Vec<RateLimitRule>,
    }
    let rules: Rules =
        toml::from_str("[[ratelimit]]\nname = \"per-user\"\nkey = \"principal\"\nper_minute = 1\n")
            .unwrap();
    let clock = FakeClock::new(1_700_000_000_000);
    let limiter = RateLimiter::new(&rules.ratelimit, Arc::new(clock.clone())).unwrap();
    let inv = Invocation {
        principal: "mallory@contoso.com".into(),
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
    limiter.status(clock.now_ms())
}

/// Serve `GET /v1/ratelimit` over TLS until the test ends; returns the port.
fn serve(status_json: String, ca_pem_path: &std::path::Path) -> u16 {
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    std::fs::write(ca_pem_path, cert.cert.pem()).unwrap();
    let chain = vec![cert.cert.der().clone()];
    let key = rustls_pki_types::PrivateKeyDer::Pkcs8(cert.key_pair.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap().port()).unwrap();
            loop {
                let (tcp, _) = listener.accept().await.unwrap();
                let Ok(tls) = acceptor.accept(tcp).await else {
                    continue;
                };
                let body = status_json.clone();
                let service = service_fn(move |req: http::Request<hyper::body::Incoming>| {
                    let body = body.clone();
                    async move { Ok::<_, std::convert::Infallible>(answer(&req, body)) }
                });
                tokio::spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                });
            }
        });
    });
    rx.recv().unwrap()
}

fn answer(req: &http::Request<hyper::body::Incoming>, body: String) -> http::Response<Full<Bytes>> {
    let authorized = req
        .headers()
        .get(http::header::AUTHORIZATION)
        .is_some_and(|v| v == format!("Bearer {TOKEN}").as_str());
    let (status, body) = match (authorized, req.uri().path()) {
        (false, _) => (401, r#"{"error":"bad token"}"#.to_string()),
        (true, "/v1/ratelimit") => (200, body),
        (true, _) => (404, "{}".to_string()),
    };
    http::Response::builder()
        .status(status)
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}

fn run_cli(port: u16, token: &str, ca: &std::path::Path, json: bool) -> Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_runspace-gateway"));
    cmd.args(["ratelimit", "status", "--ca"])
        .arg(ca)
        .env(
            "RUNSPACE_GATEWAY_ADMIN",
            format!("https://127.0.0.1:{port}"),
        )
        .env("RUNSPACE_GATEWAY_TOKEN", token);
    if json {
        cmd.arg("--json");
    }
    cmd.output().unwrap()
}

#[test]
fn status_shows_the_rules_and_the_most_throttled_keys() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    let expected = limiter_status();
    let port = serve(serde_json::to_string(&expected).unwrap(), &ca);

    let out = run_cli(port, TOKEN, &ca, true);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: RateLimitStatus = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(got, expected);
    assert_eq!(got.top_throttled[0].count, 3);

    let out = run_cli(port, TOKEN, &ca, false);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(text.contains("per-user"), "{text}");
    assert!(text.contains("1/minute"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("3 ") && l.ends_with("mallory@contoso.com")),
        "{text}"
    );
}

#[test]
fn a_refused_token_is_reported_with_the_status_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    let port = serve("{}".to_string(), &ca);
    let out = run_cli(port, "wrong", &ca, false);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("401") && err.contains("bad token"), "{err}");
}

#[test]
fn an_untrusted_certificate_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (served_ca, other_ca) = (dir.path().join("ca.pem"), dir.path().join("other.pem"));
    let port = serve("{}".to_string(), &served_ca);
    let other = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    std::fs::write(&other_ca, other.cert.pem()).unwrap();
    let out = run_cli(port, TOKEN, &other_ca, false);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("TLS failed"), "{err}");
}
