//! The TLS front door and start-up, through the real binary: TLS 1.2 and 1.3 served, TLS 1.1
//! refused, HTTP/1.1 only, mTLS when `client_ca` is set, bad certificate files named at start,
//! and the `certs` command.

mod common;

use common::*;
use std::process::Command;
use tokio::io::AsyncWriteExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_1_3_and_1_2_clients_are_served() {
    let certs = Certs::new();
    let upstream = Upstream::start(ok).await;
    let gateway = Gateway::start(&GatewayConfig::new(&certs, &upstream.url).text());
    for version in [&rustls::version::TLS13, &rustls::version::TLS12] {
        let config = certs.client_config_with(false, Some(&[version]));
        let tls = tls_connect(gateway.addr, &config).await.unwrap();
        assert_eq!(tls.get_ref().1.protocol_version(), Some(version.version));
        assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
        let mut client = HttpClient::connect(gateway.addr, &config).await.unwrap();
        let response = client.send(request("GET", "/wsman", "")).await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.body().as_ref(), b"ok");
    }
}

/// A minimal ClientHello offering at most `version` (0x0302 is TLS 1.1) with ECDHE suites that
/// exist in TLS 1.1 (CBC) and 1.2 (GCM).
fn client_hello(version: u16) -> Vec<u8> {
    let mut body = version.to_be_bytes().to_vec();
    body.extend_from_slice(&[0x42; 32]); // random
    body.push(0); // no session id
    body.extend_from_slice(&[0x00, 0x06, 0xc0, 0x2b, 0xc0, 0x09, 0xc0, 0x13]); // suites
    body.extend_from_slice(&[0x01, 0x00]); // null compression
                                           // Extensions a modern stack sends anyway (rustls wants them before it looks at versions):
                                           // signature_algorithms and supported_groups. No supported_versions: the offer is 1.1.
    let extensions = [
        0x00, 0x0d, 0x00, 0x08, 0x00, 0x06, 0x04, 0x03, 0x08, 0x04, 0x04, 0x01, // sig algs
        0x00, 0x0a, 0x00, 0x04, 0x00, 0x02, 0x00, 0x1d, // x25519
    ];
    body.extend_from_slice(&(extensions.len() as u16).to_be_bytes());
    body.extend_from_slice(&extensions);
    let mut handshake = vec![0x01, 0x00];
    handshake.extend_from_slice(&(body.len() as u16).to_be_bytes());
    handshake.extend_from_slice(&body);
    let mut record = vec![0x16, 0x03, 0x01];
    record.extend_from_slice(&(handshake.len() as u16).to_be_bytes());
    record.extend_from_slice(&handshake);
    record
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_1_1_client_gets_a_protocol_version_alert() {
    let certs = Certs::new();
    let upstream = Upstream::start(ok).await;
    let gateway = Gateway::start(&GatewayConfig::new(&certs, &upstream.url).text());
    let mut tcp = tokio::net::TcpStream::connect(gateway.addr).await.unwrap();
    tcp.write_all(&client_hello(0x0302)).await.unwrap();
    let reply = read_reply(&mut tcp, WAIT).await;
    assert!(reply.closed);
    // One alert record: type 21, level fatal (2), description protocol_version (70).
    assert_eq!(reply.bytes.first(), Some(&0x15), "{:02x?}", reply.bytes);
    assert_eq!(
        reply.bytes.get(5..7),
        Some(&[2u8, 70][..]),
        "{:02x?}\n{}",
        reply.bytes,
        gateway.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_hello_offering_tls_1_2_gets_a_server_hello() {
    let certs = Certs::new();
    let upstream = Upstream::start(ok).await;
    let gateway = Gateway::start(&GatewayConfig::new(&certs, &upstream.url).text());
    let mut tcp = tokio::net::TcpStream::connect(gateway.addr).await.unwrap();
    tcp.write_all(&client_hello(0x0303)).await.unwrap();
    let reply = read_reply(&mut tcp, std::time::Duration::from_secs(2)).await;
    // A handshake record (22) whose first message is ServerHello (2).
    assert_eq!(reply.bytes.first(), Some(&0x16), "{:02x?}", reply.bytes);
    assert_eq!(reply.bytes.get(5), Some(&0x02), "{:02x?}", reply.bytes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_offering_only_h2_is_refused_in_the_handshake() {
    let certs = Certs::new();
    let upstream = Upstream::start(ok).await;
    let gateway = Gateway::start(&GatewayConfig::new(&certs, &upstream.url).text());
    let mut config = (*certs.client_config()).clone();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let result = tls_connect(gateway.addr, &std::sync::Arc::new(config)).await;
    assert!(result.is_err(), "an h2-only client was accepted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_client_ca_set_a_client_certificate_is_required() {
    let certs = Certs::new();
    let mut upstream = Upstream::start(ok).await;
    let gateway = Gateway::start(
        &GatewayConfig::new(&certs, &upstream.url)
            .mtls(&certs)
            .text(),
    );

    // Without a certificate: the handshake (or, in TLS 1.3, the first exchange) fails.
    let refused = async {
        let mut client = HttpClient::connect(gateway.addr, &certs.client_config()).await?;
        client.send(request("GET", "/wsman", "")).await
    }
    .await;
    assert!(refused.is_err(), "served a client without a certificate");
    assert!(upstream.saw_nothing());

    let mut client = HttpClient::connect(gateway.addr, &certs.client_config_with(true, None))
        .await
        .unwrap();
    let response = client.send(request("GET", "/wsman", "")).await.unwrap();
    assert_eq!(response.status(), 200);
    upstream.next_seen().await;
}

#[test]
fn a_bad_certificate_file_is_a_start_up_error_naming_it() {
    let certs = Certs::new();
    let bad = certs.dir.path().join("broken.pem");
    std::fs::write(
        &bad,
        "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let mut config = GatewayConfig::new(&certs, "http://127.0.0.1:9");
    config.listen = format!(
        "addr = \"127.0.0.1:0\"\ncert = {bad:?}\nkey = {:?}\n",
        certs.paths.server_key
    );
    let (status, stderr) = Gateway::start_expecting_failure(&config.text());
    assert!(!status.success());
    assert!(stderr.contains("listen.cert"), "{stderr}");
    assert!(stderr.contains(bad.to_str().unwrap()), "{stderr}");
}

#[test]
fn a_missing_key_file_is_a_start_up_error_naming_it() {
    let certs = Certs::new();
    let missing = certs.dir.path().join("nope.key");
    let mut config = GatewayConfig::new(&certs, "http://127.0.0.1:9");
    config.listen = format!(
        "addr = \"127.0.0.1:0\"\ncert = {:?}\nkey = {missing:?}\n",
        certs.paths.server_cert
    );
    let (status, stderr) = Gateway::start_expecting_failure(&config.text());
    assert!(!status.success());
    assert!(stderr.contains("listen.key"), "{stderr}");
    assert!(stderr.contains(missing.to_str().unwrap()), "{stderr}");
}

#[test]
fn an_unknown_config_key_is_a_start_up_error_naming_key_and_file() {
    let certs = Certs::new();
    let config = GatewayConfig::new(&certs, "http://127.0.0.1:9").limits("max_body_byte = 5");
    let (status, stderr) = Gateway::start_expecting_failure(&config.text());
    assert!(!status.success());
    assert!(stderr.contains("max_body_byte"), "{stderr}");
    assert!(stderr.contains("gateway.toml"), "{stderr}");
}

#[test]
fn the_certs_command_writes_a_set_and_keeps_it_on_a_second_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("certs");
    let run = |extra: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_runspace-gateway"))
            .args([
                "certs",
                "--out",
                out.to_str().unwrap(),
                "--host",
                "gw.contoso.com",
            ])
            .args(extra)
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stdout).unwrap()
    };
    let first = run(&["--client-principal", "ops@contoso.com"]);
    for file in [
        "ca.pem",
        "ca.key",
        "server.pem",
        "server.key",
        "client.pem",
        "client.key",
    ] {
        assert!(out.join(file).is_file(), "{file} missing");
        assert!(first.contains(file), "{first}");
    }
    let ca = std::fs::read(out.join("ca.pem")).unwrap();
    let second = run(&[]);
    assert!(second.contains("kept existing"), "{second}");
    assert_eq!(std::fs::read(out.join("ca.pem")).unwrap(), ca);
    run(&["--force"]);
    assert_ne!(std::fs::read(out.join("ca.pem")).unwrap(), ca);
}
