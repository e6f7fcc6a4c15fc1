//! `runspace-gateway inspect` as a user runs it: files in order as one session, stdin, JSON lines
//! out, exit 2 with the error on stderr.

use runspace_gateway::inspect::build::{self, s, CmdSpec};
use runspace_gateway::psrp::message::MessageType;
use std::io::Write;
use std::process::{Command, Stdio};
use uuid::Uuid;

const SHELL: &str = "76056A84-51DC-4F24-9262-CA2A55464B2B";
const CMD: &str = "E888E1DF-C962-41D6-BEFD-F2C82D0ABCCA";

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_runspace-gateway"))
}

fn basic() -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("Admin@Contoso.com:pw")
    )
}

/// Create, Command (first fragments), Send (the rest) as three files.
fn session_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let rpid = Uuid::parse_str(SHELL).unwrap();
    let pid = Uuid::parse_str(CMD).unwrap();
    let cap = build::message(
        MessageType::SessionCapability,
        rpid,
        Uuid::nil(),
        b"<Obj RefId=\"0\"/>",
    );
    let creation = runspace_gateway::psrp::fragment::encode_message(1, &cap, 32_768);
    let xml = build::create_pipeline_xml(
        &[vec![CmdSpec::new(
            "Exchange\\Remove-Mailbox",
            &[(Some("-Identity:"), &s("bob")), (None, &s("x"))],
        )]],
        true,
    );
    let msg = build::message(MessageType::CreatePipeline, rpid, pid, xml.as_bytes());
    let payloads = build::fragment_payloads(2, &msg, 200, 3);
    let rest: Vec<&[u8]> = payloads[1..].iter().map(Vec::as_slice).collect();
    let bodies = [
        build::create_envelope(SHELL, &creation, false),
        build::command_envelope(SHELL, CMD, &payloads[0]),
        build::send_envelope(SHELL, Some(CMD), &rest),
    ];
    bodies
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let p = dir.join(format!("{i}.xml"));
            std::fs::write(&p, b).unwrap();
            p
        })
        .collect()
}

#[test]
fn files_are_one_session_and_print_one_line_per_invocation() {
    let dir = tempfile::tempdir().unwrap();
    let files = session_files(dir.path());
    let out = bin()
        .arg("inspect")
        .args(&files)
        .args(["--authorization", &basic()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "{text}");
    let v: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(v["protocol"], "winrm");
    assert_eq!(v["principal"], "admin@contoso.com");
    assert_eq!(v["shell_id"], SHELL);
    assert_eq!(v["command_id"], CMD);
    let c = &v["statements"][0][0];
    assert_eq!(c["name"], "Remove-Mailbox");
    assert_eq!(c["module"], "Exchange");
    assert_eq!(c["params"]["Identity"], "bob");
    assert_eq!(c["positional"][0], "x");
    assert_eq!(c["is_script"], false);
}

#[test]
fn stdin_rest_body() {
    let mut child = bin()
        .args(["inspect", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(br#"{"CmdletInput":{"CmdletName":"Get-Mailbox","Parameters":{"Identity":"x"}}}"#)
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["protocol"], "rest");
    assert_eq!(v["statements"][0][0]["params"]["Identity"], "x");
}

#[test]
fn bad_input_exits_2_with_the_precise_error() {
    let dir = tempfile::tempdir().unwrap();
    let files = session_files(dir.path());
    // The Send without its Command: a continuation with nothing started.
    let out = bin()
        .arg("inspect")
        .arg(&files[0])
        .arg(&files[2])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("2.xml") && err.contains("fragment layer"),
        "{err}"
    );
}

#[test]
fn encrypted_authorization_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let files = session_files(dir.path());
    let out = bin()
        .arg("inspect")
        .arg(&files[0])
        .args(["--authorization", "Negotiate abc"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot inspect"));
}
