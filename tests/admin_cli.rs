//! The real `runspace-gateway policy|request|grant` binary against the admin API over HTTPS:
//! tables, `--json`, the environment variables, and precise errors from server and client.

mod admin_support;

use admin_support::*;
use runspace_gateway::store::Store;
use std::process::Command;

struct Out {
    ok: bool,
    stdout: String,
    stderr: String,
}

/// Run the binary with `args`, as the holder of `token`, via flags or environment variables.
async fn cli(g: &Running, token: &str, via_env: bool, args: &[&str]) -> Out {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_runspace-gateway"));
    cmd.args(args);
    for var in [
        "RUNSPACE_GATEWAY_ADMIN",
        "RUNSPACE_GATEWAY_TOKEN",
        "RUNSPACE_GATEWAY_CA",
    ] {
        cmd.env_remove(var);
    }
    if via_env {
        cmd.env("RUNSPACE_GATEWAY_ADMIN", g.url())
            .env("RUNSPACE_GATEWAY_TOKEN", token)
            .env("RUNSPACE_GATEWAY_CA", &g.pki.ca);
    } else {
        cmd.args(["--admin", &g.url(), "--token", token, "--ca"])
            .arg(&g.pki.ca);
    }
    cmd.current_dir(g.tmp.path());
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    Out {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_flow_from_the_command_line() {
    let g = start().await;
    let filed = cli(
        &g,
        "alice",
        false,
        &[
            "request",
            "new",
            "--task",
            "New-JournalRule",
            "--reason",
            "legal hold",
            "--hours",
            "2",
        ],
    )
    .await;
    assert!(filed.ok, "{}", filed.stderr);
    assert!(
        filed
            .stdout
            .contains("R-1 pending: alice@contoso.com asks for New-JournalRule for 2 h"),
        "{}",
        filed.stdout
    );

    let own = cli(
        &g,
        "alice",
        true,
        &["request", "approve", "R-1", "--comment", "mine"],
    )
    .await;
    assert!(!own.ok);
    assert!(
        own.stderr.contains("Self-approval is not allowed"),
        "{}",
        own.stderr
    );
    let outsider = cli(&g, "mallory", true, &["request", "approve", "R-1"]).await;
    assert!(
        !outsider.ok && outsider.stderr.contains("not in the approver group"),
        "{}",
        outsider.stderr
    );

    let pending = cli(&g, "bob", true, &["request", "list", "--pending"]).await;
    assert!(
        pending
            .stdout
            .lines()
            .next()
            .unwrap_or_default()
            .starts_with("ID"),
        "{}",
        pending.stdout
    );
    assert!(pending.stdout.contains("R-1") && pending.stdout.contains("legal hold"));

    let approved = cli(
        &g,
        "bob",
        true,
        &["request", "approve", "R-1", "--comment", "ok"],
    )
    .await;
    assert!(approved.ok, "{}", approved.stderr);
    assert!(
        approved.stdout.contains("Grant G-1 is in force until"),
        "{}",
        approved.stdout
    );

    let grants = cli(&g, "alice", true, &["grant", "list"]).await;
    assert!(
        grants.stdout.contains("G-1") && grants.stdout.contains(ALICE),
        "{}",
        grants.stdout
    );
    let json = cli(&g, "alice", true, &["grant", "list", "--json"]).await;
    let parsed: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(parsed["grants"][0]["request_id"], "R-1");

    let revoked = cli(&g, "bob", true, &["request", "revoke", "R-1"]).await;
    assert!(
        revoked.ok && revoked.stdout.contains("R-1 revoked"),
        "{}{}",
        revoked.stdout,
        revoked.stderr
    );
    assert!(g.live.grant_ids().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_from_the_command_line_is_refused_precisely_and_changes_nothing() {
    let g = start().await;
    let cases: [(&[&str], &str); 5] = [
        (
            &["request", "new", "--task", "Get-Mailbox", "--reason", "x"],
            "[field: task]",
        ),
        (
            &[
                "request",
                "new",
                "--task",
                "New-JournalRule",
                "--reason",
                "x",
                "--hours",
                "-3",
            ],
            "[field: hours]",
        ),
        (
            &[
                "request",
                "new",
                "--task",
                "New-JournalRule",
                "--reason",
                "x",
                "--hours",
                "100000",
            ],
            "give 1 to 8",
        ),
        (
            &["request", "new", "--task", "New-JournalRule"],
            "a reason is required",
        ),
        (&["request", "approve", "R-1/../x"], "[field: id]"),
    ];
    for (args, expected) in cases {
        let out = cli(&g, "alice", true, args).await;
        assert!(!out.ok, "{args:?} must fail");
        assert!(out.stderr.contains(expected), "{args:?}: {}", out.stderr);
    }
    let wrong = cli(&g, "not-a-token", true, &["request", "list"]).await;
    assert!(
        !wrong.ok && wrong.stderr.contains("bearer token is not valid"),
        "{}",
        wrong.stderr
    );
    assert!(g.store.list_requests(None, 10).unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policies_from_the_command_line() {
    let g = start().await;
    let created = cli(
        &g,
        "bob",
        false,
        &[
            "policy",
            "new",
            "--task",
            "Remove-Mailbox",
            "--approval",
            "manual",
            "--approvers",
            "pam-approvers",
            "--max-hours",
            "2",
        ],
    )
    .await;
    assert!(
        created.ok && created.stdout.contains("Created policy P-1"),
        "{}{}",
        created.stdout,
        created.stderr
    );
    let list = cli(&g, "bob", false, &["policy", "list"]).await;
    assert!(
        list.stdout.contains("P-1") && list.stdout.contains("task: Remove-Mailbox"),
        "{}",
        list.stdout
    );
    let bad = cli(
        &g,
        "bob",
        false,
        &[
            "policy",
            "new",
            "--task",
            "X-Y",
            "--approval",
            "manual",
            "--approvers",
            "nobody",
        ],
    )
    .await;
    assert!(
        !bad.ok && bad.stderr.contains("[field: approvers]"),
        "{}",
        bad.stderr
    );
    let removed = cli(&g, "bob", false, &["policy", "remove", "P-1"]).await;
    assert!(removed.ok, "{}", removed.stderr);
    assert!(g.store.list_policies().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_problems_say_what_to_check() {
    let g = start().await;
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_runspace-gateway"));
    cmd.args([
        "request",
        "list",
        "--admin",
        &format!("https://{closed}"),
        "--token",
        "alice",
        "--ca",
    ])
    .arg(&g.pki.ca);
    cmd.env_remove("RUNSPACE_GATEWAY_ADMIN")
        .current_dir(g.tmp.path());
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&closed.to_string()) && stderr.contains("RUNSPACE_GATEWAY_ADMIN"),
        "{stderr}"
    );
    let no_token = Command::new(env!("CARGO_BIN_EXE_runspace-gateway"))
        .args(["grant", "list", "--admin", &g.url()])
        .env_remove("RUNSPACE_GATEWAY_TOKEN")
        .current_dir(g.tmp.path())
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&no_token.stderr).contains("RUNSPACE_GATEWAY_TOKEN"));
}
