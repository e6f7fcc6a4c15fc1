//! Invariant 5: an approval that was acknowledged survives `kill -9`.
//!
//! The control path (SQLite store, audit log, admin API over HTTPS) runs in a child process:
//! this test binary re-executed with `WORKFLOW_DURABILITY_DIR` set, which makes
//! `child_control_plane` start it and wait. The parent files and approves a request over HTTPS,
//! kills the child with SIGKILL right after the approval is acknowledged, starts a new child on
//! the same files, and finds the grant restored, listed and audited.

mod admin_support;

use admin_support::*;
use http::{Method, StatusCode};
use runspace_gateway::admin::auth::token_hash;
use runspace_gateway::admin::client::AdminClient;
use runspace_gateway::clock::SystemClock;
use runspace_gateway::config::Config;
use runspace_gateway::grants::Grants;
use runspace_gateway::workflow::live::GatewayLive;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

const DIR_VAR: &str = "WORKFLOW_DURABILITY_DIR";

fn config_text(dir: &Path) -> String {
    let p = |name: &str| toml::Value::String(dir.join(name).display().to_string()).to_string();
    format!(
        "[listen]\naddr = \"127.0.0.1:0\"\ncert = {cert}\nkey = {key}\n\n\
         [upstream]\nurl = \"http://127.0.0.1:9\"\n\n\
         [pam]\nenabled = true\n\n\
         [groups]\npam-approvers = [\"{BOB}\"]\n\n\
         [[policy]]\ntask = \"New-JournalRule\"\napproval = \"manual\"\napprovers = \"pam-approvers\"\n\n\
         [store]\npath = {db}\n\n\
         [admin]\naddr = \"127.0.0.1:0\"\n\n\
         [[admin.token]]\nprincipal = \"{ALICE}\"\nsha256 = \"{alice}\"\n\n\
         [[admin.token]]\nprincipal = \"{BOB}\"\nsha256 = \"{bob}\"\n\n\
         [audit]\npath = {audit}\nfsync = \"always\"\n",
        cert = p("server.pem"),
        key = p("server.key"),
        db = p("gateway.db"),
        audit = p("audit.jsonl"),
        alice = token_hash("alice"),
        bob = token_hash("bob"),
    )
}

/// The child process's entry point; does nothing unless `WORKFLOW_DURABILITY_DIR` is set.
#[test]
fn child_control_plane() {
    let Ok(dir) = std::env::var(DIR_VAR) else {
        return;
    };
    let dir = Path::new(&dir);
    let config = Config::parse(&config_text(dir), &dir.join("gateway.toml")).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let clock = Arc::new(SystemClock);
        let audit = Arc::new(
            runspace_gateway::audit::AuditLog::open(&config.audit, clock.clone()).unwrap(),
        );
        let grants = Arc::new(Grants::new());
        let live = Arc::new(GatewayLive::new(grants.clone(), Box::new(|_| {})));
        let (_stop, stop_rx) = tokio::sync::watch::channel(false);
        let plane =
            runspace_gateway::workflow::runtime::start(&config, clock, audit, live, |a| a, stop_rx)
                .await
                .unwrap();
        println!(
            "CHILD admin={} restored={} live={}",
            plane.admin_addr.unwrap(),
            plane.restored_grants,
            grants.len()
        );
        std::future::pending::<()>().await;
    });
}

struct ChildPlane {
    child: Child,
    url: String,
    restored: usize,
    live: usize,
}

fn spawn_child(dir: &Path) -> ChildPlane {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_control_plane",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(DIR_VAR, dir)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        // libtest may print `test child_control_plane ... ` on the same line first.
        if let Some((_, rest)) = line.split_once("CHILD ") {
            let field = |k: &str| {
                rest.split(' ')
                    .find_map(|kv| kv.strip_prefix(k))
                    .unwrap()
                    .to_string()
            };
            return ChildPlane {
                child,
                url: format!("https://{}", field("admin=")),
                restored: field("restored=").parse().unwrap(),
                live: field("live=").parse().unwrap(),
            };
        }
    }
    let status = child.kill().and_then(|_| child.wait());
    panic!("the child control plane did not start ({status:?})");
}

/// Start a child, failing the test if it does not come up in time.
async fn start_child(dir: &Path) -> ChildPlane {
    let dir = dir.to_path_buf();
    let started = tokio::task::spawn_blocking(move || spawn_child(&dir));
    tokio::time::timeout(std::time::Duration::from_secs(120), started)
        .await
        .expect("the child control plane did not start within 120 s")
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_acknowledged_approval_survives_kill_9_and_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = pki(tmp.path());
    let dir = tmp.path().to_path_buf();
    let mut first = start_child(&dir).await;
    assert_eq!((first.restored, first.live), (0, 0));
    let client = |url: &str, token: &str| AdminClient::new(url, token, &pki.ca).unwrap();
    let filed = client(&first.url, "alice")
        .call(
            Method::POST,
            "/v1/requests",
            Some(
                serde_json::json!({"task": "New-JournalRule", "reason": "legal hold", "hours": 2}),
            ),
        )
        .await
        .unwrap();
    assert_eq!(filed.status, StatusCode::CREATED, "{:?}", filed.body);
    let approved = client(&first.url, "bob")
        .call(
            Method::POST,
            "/v1/requests/R-1/approve",
            Some(serde_json::json!({"comment": "ok"})),
        )
        .await
        .unwrap();
    assert_eq!(approved.status, StatusCode::OK, "{:?}", approved.body);
    first.child.kill().unwrap(); // SIGKILL, right after the acknowledgement
    first.child.wait().unwrap();

    let mut second = start_child(&dir).await;
    assert_eq!(
        (second.restored, second.live),
        (1, 1),
        "the grant is back in the live map"
    );
    let grants = client(&second.url, "alice")
        .call(Method::GET, "/v1/grants", None)
        .await
        .unwrap();
    assert_eq!(
        grants.body["grants"][0]["request_id"], "R-1",
        "{:?}",
        grants.body
    );
    assert_eq!(grants.body["grants"][0]["principal"], ALICE);
    let request = client(&second.url, "alice")
        .call(Method::GET, "/v1/requests/R-1", None)
        .await
        .unwrap();
    assert_eq!(request.body["state"], "approved");
    second.child.kill().unwrap();
    second.child.wait().unwrap();

    let audit = std::fs::read_to_string(tmp.path().join("audit.jsonl")).unwrap();
    assert!(
        audit.contains("\"request.created\"") && audit.contains("\"request.approved\""),
        "{audit}"
    );
}
