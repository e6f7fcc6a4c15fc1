//! `runspace-gateway dev` as a user runs it: the real binary, real dev certificates, real TLS,
//! a REST call through the gateway to the mock, and the mock's command log.

mod common;

use common::{request, Certs, HttpClient, WAIT};
use runspace_gateway::certs::ensure_dev_certs;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Instant;

/// A running `dev`, killed when dropped.
struct Dev {
    child: Child,
    lines: mpsc::Receiver<String>,
    printed: Vec<String>,
}

impl Drop for Dev {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Dev {
    fn start(data: &std::path::Path) -> Dev {
        let mut child = Command::new(env!("CARGO_BIN_EXE_runspace-gateway"))
            .args([
                "dev",
                "--data",
                data.to_str().unwrap(),
                "--gateway-port",
                "0",
                "--mock-port",
                "0",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start runspace-gateway dev");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Dev {
            child,
            lines,
            printed: Vec::new(),
        }
    }

    /// Read stdout until a line starts with `prefix`; returns the rest of it.
    fn wait_line(&mut self, prefix: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.lines.recv_timeout(left).unwrap_or_else(|_| {
                panic!(
                    "dev never printed {prefix:?}; it printed:\n{}",
                    self.printed.join("\n")
                )
            });
            self.printed.push(line.clone());
            if let Some(rest) = line.strip_prefix(prefix) {
                return rest.trim().to_owned();
            }
        }
    }
}

#[tokio::test]
async fn dev_prints_how_to_connect_and_a_call_through_the_gateway_reaches_the_mock() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut dev = Dev::start(&data);
    let mock: SocketAddr = dev
        .wait_line("mock-upstream listening on ")
        .parse()
        .unwrap();
    let gateway: SocketAddr = dev.wait_line("gateway listening on ").parse().unwrap();
    assert_ne!(mock.port(), gateway.port());
    let ca_line = dev.wait_line("  dev CA certificate ");
    assert_eq!(ca_line, data.join("certs/ca.pem").display().to_string());
    let curl = dev.wait_line("    curl -s --cacert ");
    assert!(curl.starts_with(&ca_line), "{curl}");

    let certs = Certs {
        paths: ensure_dev_certs(&data.join("certs"), &[]).unwrap(),
        dir: tmp,
    };
    let mut client = HttpClient::connect(gateway, &certs.client_config())
        .await
        .unwrap();
    let body = r#"{"CmdletInput":{"CmdletName":"Get-Mailbox","Parameters":{"Identity":"bob@contoso.com"}}}"#;
    let mut req = request(
        "POST",
        "/adminapi/beta/contoso.onmicrosoft.com/InvokeCommand",
        body,
    );
    req.headers_mut().insert(
        "authorization",
        "Basic YWxpY2VAY29udG9zby5jb206c2VjcmV0".parse().unwrap(),
    );
    let resp = client.send(req).await.unwrap();
    assert_eq!(resp.status(), 200, "{:?}", resp.body());
    let json: serde_json::Value = serde_json::from_slice(resp.body()).unwrap();
    assert_eq!(json["value"][0]["user"], "alice@contoso.com");

    let log = std::fs::read_to_string(data.join("mock-commands.jsonl")).unwrap();
    let record: serde_json::Value = serde_json::from_str(log.lines().next().unwrap()).unwrap();
    assert_eq!(record["cmdlet"], "Get-Mailbox");
    assert_eq!(record["params"]["Identity"], "bob@contoso.com");
    assert_eq!(record["tenant"], "contoso.onmicrosoft.com");
}

#[tokio::test]
async fn a_second_start_keeps_the_dev_certificates() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    {
        let mut dev = Dev::start(&data);
        dev.wait_line("gateway listening on ");
    }
    let ca = std::fs::read(data.join("certs/ca.pem")).unwrap();
    let server = std::fs::read(data.join("certs/server.pem")).unwrap();
    let mut dev = Dev::start(&data);
    dev.wait_line("gateway listening on ");
    assert_eq!(std::fs::read(data.join("certs/ca.pem")).unwrap(), ca);
    assert_eq!(
        std::fs::read(data.join("certs/server.pem")).unwrap(),
        server
    );
    assert!(data.join("dev-gateway.toml").exists());
}
