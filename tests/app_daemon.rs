//! The assembled daemon through the real binary (`serve --config FILE`): the mock endpoint as
//! upstream, the admin API, reload of rate limits without a restart, `/metrics`, and a grant
//! that survives `kill -9` right after the approval was acknowledged.

mod common;

use base64::Engine;
use common::{request, Certs, HttpClient, WAIT};
use runspace_gateway::admin::auth::token_hash;
use runspace_gateway::mock::{MockOptions, MockServer};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Instant;

const ALICE: &str = "alice@contoso.com";
const BOB: &str = "bob@contoso.com";
const CAROL: &str = "carol@contoso.com";
const INVOKE: &str = "/adminapi/beta/contoso.onmicrosoft.com/InvokeCommand";

fn config(certs: &Certs, dir: &Path, mock: SocketAddr, per_minute: u32, extra: &str) -> String {
    config_with_approvers(certs, dir, mock, per_minute, &[BOB], extra)
}

fn config_with_approvers(
    certs: &Certs,
    dir: &Path,
    mock: SocketAddr,
    per_minute: u32,
    approvers: &[&str],
    extra: &str,
) -> String {
    let p = |name: &str| toml::Value::String(dir.join(name).display().to_string()).to_string();
    format!(
        "[listen]\naddr = \"127.0.0.1:0\"\ncert = {cert:?}\nkey = {key:?}\n\n\
         [upstream]\nurl = \"http://{mock}\"\n\n\
         [pam]\nenabled = true\nmode = \"enforce\"\n\n\
         [groups]\npam-approvers = {approvers:?}\n\n\
         [[policy]]\ntask = \"New-JournalRule\"\napproval = \"manual\"\napprovers = \"pam-approvers\"\n\n\
         [[ratelimit]]\nname = \"mailbox-reads\"\nkey = \"principal\"\ncmdlets = [\"Get-Mailbox\"]\nper_minute = {per_minute}\nburst = {per_minute}\n\n\
         [store]\npath = {db}\n\n\
         [audit]\npath = {audit}\nfsync = \"always\"\n\n\
         [admin]\naddr = \"127.0.0.1:0\"\n\n\
         [[admin.token]]\nprincipal = \"{ALICE}\"\nsha256 = \"{alice}\"\n\n\
         [[admin.token]]\nprincipal = \"{BOB}\"\nsha256 = \"{bob}\"\n{extra}",
        cert = certs.paths.server_cert,
        key = certs.paths.server_key,
        db = p("gateway.db"),
        audit = p("audit.jsonl"),
        alice = token_hash("alice-token"),
        bob = token_hash("bob-token"),
    )
}

/// A running `serve`, killed (SIGKILL) on drop.
struct Daemon {
    child: Child,
    gateway: SocketAddr,
    admin: SocketAddr,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Daemon {
    fn start(config_path: &Path) -> Daemon {
        let mut child = Command::new(env!("CARGO_BIN_EXE_runspace-gateway"))
            .args(["serve", "--config", config_path.to_str().unwrap()])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start serve");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let deadline = Instant::now() + WAIT;
        let (mut gateway, mut admin) = (None, None);
        while gateway.is_none() || admin.is_none() {
            assert!(
                Instant::now() < deadline,
                "serve did not print its addresses"
            );
            let line = lines.next().expect("serve exited early").unwrap();
            if let Some(a) = line.strip_prefix("admin listening on ") {
                admin = Some(a.trim().parse().unwrap());
            } else if let Some(a) = line.strip_prefix("listening on ") {
                gateway = Some(a.trim().parse().unwrap());
            }
        }
        Daemon {
            child,
            gateway: gateway.unwrap(),
            admin: admin.unwrap(),
        }
    }
}

async fn invoke(d: &Daemon, certs: &Certs, cmdlet: &str) -> u16 {
    let mut c = HttpClient::connect(d.gateway, &certs.client_config())
        .await
        .unwrap();
    let body =
        format!(r#"{{"CmdletInput":{{"CmdletName":"{cmdlet}","Parameters":{{"Name":"j1"}}}}}}"#);
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{ALICE}:secret"));
    let mut req = request("POST", INVOKE, body);
    req.headers_mut()
        .insert("authorization", format!("Basic {basic}").parse().unwrap());
    req.headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    c.send(req).await.unwrap().status().as_u16()
}

async fn admin(
    d: &Daemon,
    certs: &Certs,
    token: &str,
    method: &str,
    path: &str,
    body: &str,
) -> (u16, String) {
    let mut c = HttpClient::connect(d.admin, &certs.client_config())
        .await
        .unwrap();
    let mut req = request(method, path, body.to_string());
    req.headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    req.headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    let reply = c.send(req).await.unwrap();
    (
        reply.status().as_u16(),
        String::from_utf8_lossy(reply.body()).into_owned(),
    )
}

fn audit_events(dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("audit.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The mock endpoint on a free loopback port, running until the test ends.
async fn start_mock() -> SocketAddr {
    let mock = MockServer::bind("127.0.0.1:0".parse().unwrap(), MockOptions::default())
        .await
        .unwrap();
    let addr = mock.local_addr().unwrap();
    tokio::spawn(mock.run(std::future::pending()));
    addr
}

fn has_event(events: &[serde_json::Value], kind: &str) -> bool {
    events.iter().any(|e| e["event"] == kind)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_metrics_and_a_grant_that_survives_kill_9() {
    let certs = Certs::new();
    let dir = tempfile::tempdir().unwrap();
    let mock_addr = start_mock().await;
    let path = dir.path().join("gateway.toml");
    // This flow (reload, the workflow's blocking store calls, the audit writer thread) runs on
    // the single-threaded scheduler; the other tests get one worker per CPU.
    let one_thread = "\n[runtime]\nworker_threads = 1\n";
    std::fs::write(&path, config(&certs, dir.path(), mock_addr, 1, one_thread)).unwrap();
    let d = Daemon::start(&path);

    // The limit: one Get-Mailbox, then throttled.
    assert_eq!(invoke(&d, &certs, "Get-Mailbox").await, 200);
    assert_eq!(invoke(&d, &certs, "Get-Mailbox").await, 429);

    // Reload raises it with no restart.
    std::fs::write(
        &path,
        config(&certs, dir.path(), mock_addr, 100, one_thread),
    )
    .unwrap();
    let (status, body) = admin(&d, &certs, "bob-token", "POST", "/v1/reload", "{}").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("mailbox-reads"), "{body}");
    assert_eq!(invoke(&d, &certs, "Get-Mailbox").await, 200);

    // An invalid file keeps the raised limit and names the key.
    std::fs::write(
        &path,
        config(&certs, dir.path(), mock_addr, 1, "\n[pam_typo]\nx = 1\n"),
    )
    .unwrap();
    let (status, body) = admin(&d, &certs, "bob-token", "POST", "/v1/reload", "{}").await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("pam_typo"), "{body}");
    assert_eq!(invoke(&d, &certs, "Get-Mailbox").await, 200);
    assert_eq!(invoke(&d, &certs, "Get-Mailbox").await, 200);

    // The task is refused without a grant; request, approve, then kill -9 at once.
    assert_eq!(invoke(&d, &certs, "New-JournalRule").await, 403);
    let (status, body) = admin(
        &d,
        &certs,
        "alice-token",
        "POST",
        "/v1/requests",
        r#"{"task":"New-JournalRule","reason":"journal for legal","hours":1}"#,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let id = serde_json::from_str::<serde_json::Value>(&body).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();

    // /metrics counts what was sent: 4 allowed Get-Mailbox, 1 throttled, 1 denied task.
    let (status, metrics) = admin(&d, &certs, "bob-token", "GET", "/metrics", "").await;
    assert_eq!(status, 200);
    let line = |needle: &str| {
        metrics
            .lines()
            .find(|l| l.contains(needle) && !l.starts_with('#'))
            .map(str::to_string)
    };
    assert!(
        line("decision=\"throttle\"").is_some_and(|l| l.ends_with(" 1")),
        "{metrics}"
    );
    assert!(
        metrics
            .lines()
            .any(|l| l.contains("cmdlet=\"get-mailbox\",decision=\"allow\"") && l.ends_with(" 4")),
        "{metrics}"
    );
    assert!(
        metrics.lines().any(|l| l
            .starts_with("runspace_gateway_config_reloads_total{result=\"error\"}")
            && l.ends_with(" 1")),
        "{metrics}"
    );

    // Every decision was audited: 6 before this point (5 Get-Mailbox, 1 New-JournalRule).
    assert!(
        metrics
            .lines()
            .any(|l| l.contains("audit_write") && l.contains("_count") && l.ends_with(" 6")),
        "{metrics}"
    );
    let (status, body) = admin(
        &d,
        &certs,
        "bob-token",
        "POST",
        &format!("/v1/requests/{id}/approve"),
        r#"{"comment":"ok"}"#,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    drop(d); // SIGKILL
    std::fs::write(&path, config(&certs, dir.path(), mock_addr, 100, "")).unwrap();
    let d = Daemon::start(&path);
    assert_eq!(
        invoke(&d, &certs, "New-JournalRule").await,
        200,
        "the grant survived kill -9"
    );

    // Revoke takes effect on the very next call.
    let (status, body) = admin(
        &d,
        &certs,
        "bob-token",
        "POST",
        &format!("/v1/requests/{id}/revoke"),
        "{}",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(invoke(&d, &certs, "New-JournalRule").await, 403);

    // SIGTERM: gateway.stop is the last record.
    let killed = Command::new("kill")
        .args(["-TERM", &d.child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let mut d = d;
    let deadline = Instant::now() + WAIT;
    while d.child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "serve did not stop on SIGTERM");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let events = audit_events(dir.path());
    assert_eq!(events.last().unwrap()["event"], "gateway.stop");
    let decision = |verdict: &str, cmdlet: &str| {
        events.iter().find(|e| {
            e["event"] == "decision"
                && e["decision"] == verdict
                && e["cmdlets"][0]["name"] == cmdlet
        })
    };
    for (verdict, cmdlet) in [
        ("allow", "Get-Mailbox"),
        ("throttle", "Get-Mailbox"),
        ("deny", "New-JournalRule"),
        ("allow", "New-JournalRule"),
    ] {
        let e = decision(verdict, cmdlet).unwrap_or_else(|| panic!("no {verdict} {cmdlet}"));
        assert_eq!(e["principal"], ALICE);
        assert_eq!(e["protocol"], "rest");
        assert_eq!(e["tenant"], "contoso.onmicrosoft.com");
    }
    let approved = events
        .iter()
        .find(|e| e["event"] == "request.approved")
        .unwrap();
    assert_eq!(approved["request_id"], id.as_str());
    assert_eq!(approved["approver"], BOB);
    assert!(approved["grant_id"]
        .as_str()
        .is_some_and(|g| g.starts_with("G-")));
    let created = events
        .iter()
        .find(|e| e["event"] == "request.created")
        .unwrap();
    assert_eq!(created["request_id"], id.as_str(), "the id the store gave");
    assert_eq!(created["principal"], ALICE);
    assert_eq!(created["policy_id"], "C-1");

    // Field by field, what an auditor reads off each decision.
    let deny = decision("deny", "New-JournalRule").unwrap();
    assert_eq!(deny["policy_id"], "C-1");
    let reason = deny["reason"].as_str().unwrap();
    assert!(
        reason.contains("New-JournalRule") && reason.contains("C-1"),
        "{reason}"
    );
    let granted = decision("allow", "New-JournalRule").unwrap();
    assert_eq!(granted["policy_id"], "C-1");
    assert_eq!(granted["request_id"], id.as_str());
    assert_eq!(granted["grant_id"], approved["grant_id"]);
    assert_eq!(granted["approver"], BOB);
    let throttled = decision("throttle", "Get-Mailbox").unwrap();
    let reason = throttled["reason"].as_str().unwrap();
    assert!(reason.contains("mailbox-reads"), "{reason}");
    for e in [deny, granted, throttled] {
        let client = e["client"].as_str().unwrap();
        assert!(client.starts_with("127.0.0.1:"), "{client}");
    }
    // Every record: UTC time, consecutive seq, prev = the previous hash; the verifier agrees.
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e["seq"], i as u64 + 1, "{e}");
        let time = e["time"].as_str().unwrap();
        assert!(time.ends_with('Z') && time.len() == 24, "{time}");
        if i > 0 {
            assert_eq!(e["prev"], events[i - 1]["hash"], "{e}");
        }
    }
    let verified =
        runspace_gateway::audit::verify::verify_files(&[dir.path().join("audit.jsonl")]).unwrap();
    assert_eq!(verified.records, events.len() as u64);
    let starts = events
        .iter()
        .filter(|e| e["event"] == "gateway.start")
        .count();
    assert_eq!(starts, 2, "one gateway.start per start");
    for kind in [
        "gateway.start",
        "config.reloaded",
        "config.rejected",
        "request.created",
        "request.approved",
        "request.revoked",
    ] {
        assert!(has_event(&events, kind), "no {kind} in {events:#?}");
    }
    let rejected = events
        .iter()
        .find(|e| e["event"] == "config.rejected")
        .unwrap();
    assert!(rejected["reason"].as_str().unwrap().contains("pam_typo"));
}

#[test]
fn a_gateway_that_cannot_write_its_audit_log_does_not_start() {
    let certs = Certs::new();
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink("/dev/full", dir.path().join("audit.jsonl")).unwrap();
    let path = dir.path().join("gateway.toml");
    std::fs::write(
        &path,
        config(&certs, dir.path(), "127.0.0.1:9".parse().unwrap(), 1, ""),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_runspace-gateway"))
        .args(["serve", "--config", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.contains("listening on"),
        "it must not listen: {stdout}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("audit"),
        "the error names the audit log: {stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_changes_and_a_denied_request_are_audited_and_enforced_at_once() {
    let certs = Certs::new();
    let dir = tempfile::tempdir().unwrap();
    let mock_addr = start_mock().await;
    let path = dir.path().join("gateway.toml");
    std::fs::write(&path, config(&certs, dir.path(), mock_addr, 100, "")).unwrap();
    let d = Daemon::start(&path);

    assert_eq!(invoke(&d, &certs, "Set-TransportRule").await, 200);
    let (status, body) = admin(
        &d,
        &certs,
        "bob-token",
        "POST",
        "/v1/policies",
        r#"{"task":"Set-TransportRule","approval":"manual","approvers":"pam-approvers"}"#,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let pid = serde_json::from_str::<serde_json::Value>(&body).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        invoke(&d, &certs, "Set-TransportRule").await,
        403,
        "stored policy enforced at once"
    );

    let (status, body) = admin(
        &d,
        &certs,
        "alice-token",
        "POST",
        "/v1/requests",
        r#"{"task":"New-JournalRule","reason":"journal","hours":1}"#,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let rid = serde_json::from_str::<serde_json::Value>(&body).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, body) = admin(
        &d,
        &certs,
        "bob-token",
        "POST",
        &format!("/v1/requests/{rid}/deny"),
        r#"{"comment":"no"}"#,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(invoke(&d, &certs, "New-JournalRule").await, 403);

    let (status, body) = admin(
        &d,
        &certs,
        "bob-token",
        "DELETE",
        &format!("/v1/policies/{pid}"),
        "",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        invoke(&d, &certs, "Set-TransportRule").await,
        200,
        "removed at once"
    );

    let events = audit_events(dir.path());
    let find = |kind: &str| {
        events
            .iter()
            .find(|e| e["event"] == kind)
            .unwrap_or_else(|| panic!("no {kind} in {events:#?}"))
            .clone()
    };
    let created = find("policy.created");
    // The workflow's policy.created record carries the policy in `reason` (no policy_id yet).
    assert!(created["reason"]
        .as_str()
        .unwrap()
        .contains(r#""task":"Set-TransportRule""#));
    assert_eq!(created["principal"], BOB);
    let removed = find("policy.removed");
    assert_eq!(removed["policy_id"], pid.as_str());
    let denied = find("request.denied");
    assert_eq!(denied["request_id"], rid.as_str());
    assert_eq!(denied["approver"], BOB);
    let created = find("request.created");
    assert_eq!(created["principal"], ALICE);
}

/// An allowed call is audited twice: the decision before forwarding, then `upstream.response`
/// with the endpoint's status and latency, linked by `decision_seq`; `/metrics` has the sample.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forwarded_call_records_the_endpoint_status_latency_and_metrics() {
    let certs = Certs::new();
    let dir = tempfile::tempdir().unwrap();
    let mock_addr = start_mock().await;
    let path = dir.path().join("gateway.toml");
    std::fs::write(&path, config(&certs, dir.path(), mock_addr, 100, "")).unwrap();
    let d = Daemon::start(&path);

    assert_eq!(invoke(&d, &certs, "Get-Mailbox").await, 200);

    let events = audit_events(dir.path());
    let at = events
        .iter()
        .position(|e| e["event"] == "decision" && e["decision"] == "allow")
        .expect("the allow decision record");
    let (decision, response) = (&events[at], &events[at + 1]);
    assert_eq!(response["event"], "upstream.response", "{events:?}");
    assert_eq!(response["upstream_status"], 200);
    assert!(response["upstream_latency_ms"].is_u64(), "{response}");
    assert_eq!(response["decision_seq"], decision["seq"]);
    assert_eq!(response["principal"], ALICE);
    assert_eq!(response["principal"], decision["principal"]);
    assert_eq!(response["prev"], decision["hash"], "one chain");

    let (status, metrics) = admin(&d, &certs, "bob-token", "GET", "/metrics", "").await;
    assert_eq!(status, 200);
    assert!(
        metrics.lines().any(|l| l.contains("upstream_latency")
            && l.contains("_count")
            && l.contains("front_door=\"rest\"")
            && l.ends_with(" 1")),
        "{metrics}"
    );
}

/// Alice files a request for `task`; its id.
async fn file_request(d: &Daemon, certs: &Certs, task: &str) -> String {
    let body = format!(r#"{{"task":"{task}","reason":"journal for legal","hours":1}}"#);
    let (status, body) = admin(d, certs, "alice-token", "POST", "/v1/requests", &body).await;
    assert_eq!(status, 201, "{body}");
    serde_json::from_str::<serde_json::Value>(&body).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn approve(d: &Daemon, certs: &Certs, token: &str, id: &str) -> (u16, String) {
    let path = format!("/v1/requests/{id}/approve");
    admin(d, certs, token, "POST", &path, r#"{"comment":"ok"}"#).await
}

/// A reload reaches the workflow, not only `decide()`: an approver taken out of the group can
/// no longer approve, and a config-file policy taken out of the file leaves the policy list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_changes_who_may_approve_and_which_config_policies_the_workflow_lists() {
    let certs = Certs::new();
    let dir = tempfile::tempdir().unwrap();
    let mock_addr = start_mock().await;
    let path = dir.path().join("gateway.toml");
    let carol = format!(
        "\n[[admin.token]]\nprincipal = \"{CAROL}\"\nsha256 = \"{}\"\n",
        token_hash("carol-token")
    );
    let policy = |task: &str| {
        format!("\n[[policy]]\ntask = \"{task}\"\napproval = \"manual\"\napprovers = \"pam-approvers\"\n")
    };
    // Kept by the reload, so a second request can be pending across it.
    let kept = format!("{carol}{}", policy("Remove-JournalRule"));
    let before = config_with_approvers(
        &certs,
        dir.path(),
        mock_addr,
        100,
        &[BOB, CAROL],
        &format!("{kept}{}", policy("Set-JournalRule")),
    );
    std::fs::write(&path, before).unwrap();
    let d = Daemon::start(&path);

    let first = file_request(&d, &certs, "New-JournalRule").await;
    let second = file_request(&d, &certs, "Remove-JournalRule").await;
    let (status, body) = approve(&d, &certs, "carol-token", &first).await;
    assert_eq!(status, 200, "carol approves while in the group: {body}");
    let (_, listed) = admin(&d, &certs, "bob-token", "GET", "/v1/policies", "").await;
    assert!(listed.contains("Set-JournalRule"), "{listed}");

    let after = config_with_approvers(&certs, dir.path(), mock_addr, 100, &[BOB], &kept);
    std::fs::write(&path, after).unwrap();
    let (status, body) = admin(&d, &certs, "bob-token", "POST", "/v1/reload", "{}").await;
    assert_eq!(status, 200, "{body}");

    let (status, body) = approve(&d, &certs, "carol-token", &second).await;
    assert_eq!(status, 403, "carol left the group: {body}");
    assert!(body.contains("not_an_approver"), "{body}");
    let (status, body) = approve(&d, &certs, "bob-token", &second).await;
    assert_eq!(status, 200, "{body}");
    let (_, listed) = admin(&d, &certs, "bob-token", "GET", "/v1/policies", "").await;
    assert!(!listed.contains("Set-JournalRule"), "{listed}");
    assert!(listed.contains("New-JournalRule"), "{listed}");
}
