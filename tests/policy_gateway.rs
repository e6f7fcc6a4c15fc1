//! The gateway filter end to end in process: real WinRM and REST request bytes (built like a
//! client's) through inspect -> shell owner -> decide -> audit -> forward or refuse, with a fake
//! clock and an in-memory audit log.

use bytes::Bytes;
use http_body_util::BodyExt;
use runspace_gateway::audit::Decision as Audited;
use runspace_gateway::clock::{FakeClock, SharedClock};
use runspace_gateway::config::{ApprovalKind, InspectLimits, PamConfig, PamMode};
use runspace_gateway::gateway::{Gateway, GatewayState, MemoryAudit, PolicyInputs};
use runspace_gateway::grants::{GrantRecord, GrantScope, Grants};
use runspace_gateway::inspect::build::{self, s, CmdSpec};
use runspace_gateway::inspect::Inspector;
use runspace_gateway::policy::record::{PolicyRecord, Scope};
use runspace_gateway::policy::NoLimits;
use runspace_gateway::proxy::filter::{ConnContext, FilterOutcome, RequestFilter};
use runspace_gateway::psrp::{fragment, message::MessageType};
use std::collections::BTreeMap;
use std::sync::Arc;
use uuid::Uuid;

const SHELL: &str = "76056A84-51DC-4F24-9262-CA2A55464B2B";
const HOUR: i64 = 3_600_000;
const START: i64 = 1_000 * HOUR;

struct Rig {
    gateway: Gateway,
    audit: Arc<MemoryAudit>,
    clock: FakeClock,
    grants: Arc<Grants>,
}

fn rig(mode: PamMode) -> Rig {
    let pam = PamConfig {
        enabled: true,
        mode,
        system_accounts: vec!["svc-backup@contoso.com".into()],
        ..PamConfig::default()
    };
    let mut groups = BTreeMap::new();
    groups.insert(
        "pam-approvers".to_string(),
        vec!["bob@contoso.com".to_string()],
    );
    let inputs = PolicyInputs {
        pam,
        roles: BTreeMap::new(),
        groups,
        request_hours: 4,
    };
    let records = [PolicyRecord {
        id: "C-1".into(),
        scope: Scope::Task("Exchange\\New-JournalRule".into()),
        approval: ApprovalKind::Manual,
        approvers: "pam-approvers".into(),
        max_hours: 8,
    }];
    let clock = FakeClock::new(START);
    let audit = Arc::new(MemoryAudit::default());
    let grants = Arc::new(Grants::new());
    let state = GatewayState::new(
        Inspector::new(InspectLimits::default()),
        inputs,
        &records,
        grants.clone(),
        Arc::new(NoLimits),
        audit.clone(),
        Arc::new(clock.clone()) as SharedClock,
    );
    Rig {
        gateway: Gateway::new(Arc::new(state)),
        audit,
        clock,
        grants,
    }
}

fn basic(user: &str) -> String {
    use base64::Engine;
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:pw"));
    format!("Basic {token}")
}

fn head(path: &str, user: &str, content_type: &str) -> http::request::Parts {
    http::Request::builder()
        .method("POST")
        .uri(path)
        .header("host", "gw.contoso.com:8443")
        .header("content-type", content_type)
        .header("authorization", basic(user))
        .body(())
        .unwrap()
        .into_parts()
        .0
}

fn conn() -> ConnContext {
    ConnContext {
        client_addr: "127.0.0.1:50000".parse().unwrap(),
        client_cert_principal: None,
        conn_id: 1,
    }
}

enum Out {
    Forward,
    Refused(u16, String),
    /// Refused, with this request sent upstream in its place (the gateway's clean-up).
    RefusedInstead(u16, String, String),
}

impl Rig {
    async fn winrm(&self, user: &str, body: &str) -> Out {
        let h = head(
            "/wsman?PSVersion=5.1",
            user,
            "application/soap+xml;charset=UTF-8",
        );
        self.send(h, body.as_bytes().to_vec()).await
    }

    async fn rest(&self, user: &str, cmdlet: &str) -> Out {
        let h = head(
            "/adminapi/beta/contoso.onmicrosoft.com/InvokeCommand",
            user,
            "application/json",
        );
        let body = format!(r#"{{"CmdletInput":{{"CmdletName":"{cmdlet}","Parameters":{{}}}}}}"#);
        self.send(h, body.into_bytes()).await
    }

    async fn send(&self, h: http::request::Parts, body: Vec<u8>) -> Out {
        let c = conn();
        match self.gateway.filter(&c, &h, Bytes::from(body)).await {
            FilterOutcome::Forward(_) | FilterOutcome::ForwardWatched(..) => Out::Forward,
            FilterOutcome::Respond(r) => {
                let (status, text) = response_text(r).await;
                Out::Refused(status, text)
            }
            FilterOutcome::ForwardInstead { body, respond, .. } => {
                let (status, text) = response_text(respond).await;
                let upstream = String::from_utf8_lossy(&body).into_owned();
                Out::RefusedInstead(status, text, upstream)
            }
        }
    }

    async fn open_shell(&self, user: &str) {
        let cap = build::message(
            MessageType::SessionCapability,
            Uuid::nil(),
            Uuid::nil(),
            b"<Obj RefId=\"0\"/>",
        );
        let creation = fragment::encode_message(1, &cap, 32_768);
        let out = self
            .winrm(user, &build::create_envelope(SHELL, &creation, false))
            .await;
        assert!(matches!(out, Out::Forward), "Create must be forwarded");
    }

    fn grant(&self, user: &str, hours: i64) {
        self.grants
            .insert(GrantRecord {
                id: "G-1".into(),
                principal: user.into(),
                scope: GrantScope::Task("New-JournalRule".into()),
                policy_id: "C-1".into(),
                starts_at_ms: START,
                expires_at_ms: START + hours * HOUR,
                request_id: "R-1".into(),
                approver: "bob@contoso.com".into(),
            })
            .unwrap();
    }
}

fn pipeline(statements: &[Vec<CmdSpec>]) -> Vec<u8> {
    let xml = build::create_pipeline_xml(statements, true);
    build::message(
        MessageType::CreatePipeline,
        Uuid::nil(),
        Uuid::new_v4(),
        xml.as_bytes(),
    )
}

fn command(cmds: &[&str]) -> (String, String) {
    let statements: Vec<Vec<CmdSpec>> = cmds.iter().map(|c| vec![CmdSpec::new(c, &[])]).collect();
    let id = Uuid::new_v4().to_string().to_uppercase();
    let args = fragment::encode_message(3, &pipeline(&statements), 32_768);
    (build::command_envelope(SHELL, &id, &args), id)
}

async fn response_text(r: http::Response<http_body_util::Full<Bytes>>) -> (u16, String) {
    let status = r.status().as_u16();
    let bytes = r.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

fn refused(out: &Out) -> (u16, &str) {
    match out {
        Out::Refused(status, body) | Out::RefusedInstead(status, body, _) => {
            (*status, body.as_str())
        }
        Out::Forward => panic!("expected a refusal, the request was forwarded"),
    }
}

const ALICE: &str = "alice@contoso.com";

#[tokio::test]
async fn uncovered_passes_covered_is_refused_with_the_request_command() {
    let r = rig(PamMode::Enforce);
    r.open_shell(ALICE).await;
    assert!(matches!(
        r.winrm(ALICE, &command(&["Get-Mailbox"]).0).await,
        Out::Forward
    ));
    let out = r.winrm(ALICE, &command(&["New-JournalRule"]).0).await;
    let (status, body) = refused(&out);
    assert_eq!(status, 500);
    assert!(
        body.contains("New-JournalRule requires approval (policy C-1, approvers pam-approvers)"),
        "{body}"
    );
    assert!(body.contains("runspace-gateway request new --task New-JournalRule --reason &quot;...&quot; --hours 4"), "{body}");
    assert!(body.contains("Machine=\"gw.contoso.com\""), "{body}");
    let decisions: Vec<_> = r.audit.events().iter().filter_map(|e| e.decision).collect();
    assert_eq!(decisions, [Audited::Allow, Audited::Deny]);
}

#[tokio::test]
async fn a_grant_allows_until_it_expires_by_the_clock() {
    let r = rig(PamMode::Enforce);
    r.open_shell(ALICE).await;
    r.grant(ALICE, 1);
    assert!(matches!(
        r.winrm(ALICE, &command(&["New-JournalRule"]).0).await,
        Out::Forward
    ));
    let last = r.audit.events().pop().unwrap();
    assert_eq!(
        (last.grant_id.as_deref(), last.approver.as_deref()),
        (Some("G-1"), Some("bob@contoso.com"))
    );
    r.clock.advance_ms(HOUR);
    refused(&r.winrm(ALICE, &command(&["New-JournalRule"]).0).await);
}

#[tokio::test]
async fn a_second_statement_hidden_in_extra_cmds_is_caught() {
    let r = rig(PamMode::Enforce);
    r.open_shell(ALICE).await;
    let out = r
        .winrm(ALICE, &command(&["Get-Mailbox", "New-JournalRule"]).0)
        .await;
    assert!(refused(&out)
        .1
        .contains("New-JournalRule requires approval"));
}

#[tokio::test]
async fn scripts_script_blocks_and_iex_are_refused() {
    let r = rig(PamMode::Enforce);
    r.open_shell(ALICE).await;
    let mut script = CmdSpec::new("New-JournalRule -Name x", &[]);
    script.is_script = true;
    let block = CmdSpec::new(
        "Get-Mailbox",
        &[(Some("Filter"), "<SBK>New-JournalRule</SBK>")],
    );
    let iex = CmdSpec::new("iex", &[(None, &s("New-JournalRule -Name x"))]);
    for spec in [script, block, iex] {
        let args = fragment::encode_message(3, &pipeline(&[vec![spec.clone()]]), 32_768);
        let env = build::command_envelope(SHELL, &Uuid::new_v4().to_string(), &args);
        let out = r.winrm(ALICE, &env).await;
        assert!(
            refused(&out).1.contains("scripts = &quot;deny&quot;"),
            "{:?}",
            spec.cmd
        );
    }
}

#[tokio::test]
async fn a_fragmented_pipeline_is_caught_at_its_last_fragment() {
    let r = rig(PamMode::Enforce);
    r.open_shell(ALICE).await;
    let padding = "x".repeat(3_000);
    let spec = CmdSpec::new("New-JournalRule", &[(Some("Name"), &s(&padding))]);
    let payloads = build::fragment_payloads(5, &pipeline(&[vec![spec]]), 1_000, 1);
    assert!(payloads.len() >= 3, "the test needs several fragments");
    let id = Uuid::new_v4().to_string().to_uppercase();
    let first = build::command_envelope(SHELL, &id, &payloads[0]);
    assert!(
        matches!(r.winrm(ALICE, &first).await, Out::Forward),
        "incomplete: forwarded"
    );
    let (last, middle) = payloads[1..].split_last().unwrap();
    for p in middle {
        let send = build::send_envelope(SHELL, Some(&id), &[p]);
        assert!(
            matches!(r.winrm(ALICE, &send).await, Out::Forward),
            "incomplete: forwarded"
        );
    }
    let completing = build::send_envelope(SHELL, Some(&id), &[last]);
    let out = r.winrm(ALICE, &completing).await;
    assert!(refused(&out)
        .1
        .contains("New-JournalRule requires approval"));
    // The endpoint holds this command (its Command went on): the gateway ends it there itself.
    assert_terminates(&out, &id);
    // The client's own Signal is answered here: the endpoint no longer knows the command.
    let signal = build::signal_envelope(
        SHELL,
        &id,
        "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/terminate",
    );
    match r.winrm(ALICE, &signal).await {
        Out::Refused(200, body) => assert!(body.contains("SignalResponse"), "{body}"),
        _ => panic!("the client's Signal for a terminated command must be answered locally"),
    }
}

/// The completing request was withheld and a Signal terminate for (SHELL, `command`) sent in
/// its place.
fn assert_terminates(out: &Out, command: &str) {
    let Out::RefusedInstead(_, _, upstream) = out else {
        panic!("expected a refusal with the gateway's Signal sent upstream");
    };
    let limits = runspace_gateway::inspect::xml::XmlLimits {
        max_depth: 64,
        max_attributes: 32,
    };
    let env = runspace_gateway::wsman::parse_request(upstream.as_bytes(), &limits).unwrap();
    assert_eq!(env.shell_id.as_deref(), Some(SHELL));
    assert_eq!(
        env.body,
        runspace_gateway::wsman::Body::Signal {
            command_id: Some(command.to_string()),
            code: runspace_gateway::wsman::signal::SIGNAL_TERMINATE.to_string(),
        }
    );
    // The client's session headers are carried over (build.rs writes these).
    assert_eq!(env.to.as_deref(), Some("https://gateway.example/wsman"));
    assert_eq!(env.operation_timeout.as_deref(), Some("PT180.000S"));
}

#[tokio::test]
async fn script_block_pipeline_input_is_refused_and_its_command_ended_upstream() {
    let r = rig(PamMode::Enforce);
    r.open_shell(ALICE).await;
    let xml = build::create_pipeline_xml(&[vec![CmdSpec::new("Get-Mailbox", &[])]], false);
    let pid = Uuid::new_v4();
    let msg = build::message(
        MessageType::CreatePipeline,
        Uuid::nil(),
        pid,
        xml.as_bytes(),
    );
    let id = Uuid::new_v4().to_string().to_uppercase();
    let cmd = build::command_envelope(SHELL, &id, &fragment::encode_message(3, &msg, 32_768));
    assert!(matches!(r.winrm(ALICE, &cmd).await, Out::Forward));
    let input = build::message(
        MessageType::PipelineInput,
        Uuid::nil(),
        pid,
        b"<SBK>rm</SBK>",
    );
    let send = build::send_envelope(
        SHELL,
        Some(&id),
        &[&fragment::encode_message(4, &input, 32_768)],
    );
    let out = r.winrm(ALICE, &send).await;
    assert_eq!(refused(&out).0, 500);
    assert_terminates(&out, &id);
    // Plain input on another command is forwarded as before.
    let plain = build::message(MessageType::PipelineInput, Uuid::nil(), pid, b"<S>x</S>");
    let other = Uuid::new_v4().to_string().to_uppercase();
    let cmd = build::command_envelope(SHELL, &other, &fragment::encode_message(5, &msg, 32_768));
    assert!(matches!(r.winrm(ALICE, &cmd).await, Out::Forward));
    let send = build::send_envelope(
        SHELL,
        Some(&other),
        &[&fragment::encode_message(6, &plain, 32_768)],
    );
    assert!(matches!(r.winrm(ALICE, &send).await, Out::Forward));
}

#[tokio::test]
async fn the_signal_for_a_refused_command_is_answered_locally_and_the_pool_goes_on() {
    let r = rig(PamMode::Enforce);
    r.open_shell(ALICE).await;
    let (env, id) = command(&["New-JournalRule"]);
    refused(&r.winrm(ALICE, &env).await);
    let signal = build::signal_envelope(
        SHELL,
        &id,
        "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/terminate",
    );
    let (status, body) = match r.winrm(ALICE, &signal).await {
        Out::Refused(s, b) => (s, b),
        Out::Forward | Out::RefusedInstead(..) => {
            panic!("a Signal for a command the endpoint never saw must not be forwarded")
        }
    };
    assert_eq!(status, 200);
    assert!(body.contains("SignalResponse"), "{body}");
    assert!(matches!(
        r.winrm(ALICE, &command(&["Get-Mailbox"]).0).await,
        Out::Forward
    ));
}

#[tokio::test]
async fn another_principal_cannot_use_the_shell() {
    let r = rig(PamMode::Enforce);
    r.open_shell(ALICE).await;
    r.grant("mallory@contoso.com", 1);
    let out = r
        .winrm("mallory@contoso.com", &command(&["Get-Mailbox"]).0)
        .await;
    let body = refused(&out).1;
    assert!(
        body.contains("was opened by another user; mallory@contoso.com may not use it"),
        "{body}"
    );
    let receive = build::receive_envelope(SHELL, None);
    let out = r.winrm("mallory@contoso.com", &receive).await;
    assert!(refused(&out).1.contains("opened by another user"));
    assert!(matches!(r.winrm(ALICE, &receive).await, Out::Forward));
}

#[tokio::test]
async fn unreadable_requests_are_refused_when_enforcing_and_forwarded_in_shadow() {
    for (mode, refuse) in [(PamMode::Enforce, true), (PamMode::Shadow, false)] {
        let r = rig(mode);
        let out = r.winrm(ALICE, "<s:Envelope>not a request").await;
        match (out, refuse) {
            (Out::Refused(500, body), true) => assert!(body.contains("Code=\"13\""), "{body}"),
            (Out::Forward, false) => {}
            (Out::Refused(s, b) | Out::RefusedInstead(s, b, _), _) => {
                panic!("{mode:?}: refused {s} {b}")
            }
            (Out::Forward, true) => panic!("{mode:?}: unreadable request forwarded"),
        }
        let last = r.audit.events().pop().unwrap();
        let expect = if refuse {
            Audited::Deny
        } else {
            Audited::ShadowDeny
        };
        assert_eq!(last.decision, Some(expect));
    }
}

#[tokio::test]
async fn shadow_mode_forwards_and_records_the_would_be_denial() {
    let r = rig(PamMode::Shadow);
    r.open_shell(ALICE).await;
    assert!(matches!(
        r.winrm(ALICE, &command(&["New-JournalRule"]).0).await,
        Out::Forward
    ));
    let last = r.audit.events().pop().unwrap();
    assert_eq!(last.decision, Some(Audited::ShadowDeny));
    assert_eq!(last.policy_id.as_deref(), Some("C-1"));
}

#[tokio::test]
async fn system_accounts_pass() {
    let r = rig(PamMode::Enforce);
    r.open_shell("svc-backup@contoso.com").await;
    let out = r
        .winrm("svc-backup@contoso.com", &command(&["New-JournalRule"]).0)
        .await;
    assert!(matches!(out, Out::Forward));
}

#[tokio::test]
async fn rest_covered_is_403_uncovered_passes_and_a_grant_allows() {
    let r = rig(PamMode::Enforce);
    assert!(matches!(r.rest(ALICE, "Get-Mailbox").await, Out::Forward));
    let out = r.rest(ALICE, "new-journalrule").await;
    let (status, body) = refused(&out);
    assert_eq!(status, 403);
    let json: serde_json::Value = serde_json::from_str(body).unwrap();
    let message = json["error"]["details"][0]["message"].as_str().unwrap();
    assert!(
        message.starts_with("GW0001|GatewayPolicyBlocked|New-JournalRule requires approval"),
        "{message}"
    );
    r.grant(ALICE, 1);
    assert!(matches!(
        r.rest(ALICE, "New-JournalRule").await,
        Out::Forward
    ));
}

#[tokio::test]
async fn an_audit_failure_refuses_on_an_enforced_endpoint() {
    let r = rig(PamMode::Enforce);
    *r.audit.fail_with.lock().unwrap() = Some("disk full".into());
    let out = r.rest(ALICE, "Get-Mailbox").await;
    assert!(refused(&out)
        .1
        .contains("could not write its audit record (disk full)"));
}

#[tokio::test]
async fn a_policy_set_that_does_not_compile_refuses_everything() {
    let r = rig(PamMode::Enforce);
    let broken = PolicyRecord {
        id: "P-9".into(),
        scope: Scope::Role("no-such-role".into()),
        approval: ApprovalKind::Auto,
        approvers: "pam-approvers".into(),
        max_hours: 1,
    };
    r.gateway.state().set_policies(&[broken]);
    let out = r.rest(ALICE, "Get-Mailbox").await;
    assert!(refused(&out).1.contains("approval policies failed to load"));
}

#[tokio::test]
async fn the_workflow_live_state_reaches_decide_at_once() {
    use runspace_gateway::workflow::LiveState;
    let r = rig(PamMode::Enforce);
    let state = r.gateway.state().clone();
    let grant = GrantRecord {
        id: "G-7".into(),
        principal: ALICE.into(),
        scope: GrantScope::Task("New-JournalRule".into()),
        policy_id: "C-1".into(),
        starts_at_ms: START,
        expires_at_ms: START + HOUR,
        request_id: "R-7".into(),
        approver: "bob@contoso.com".into(),
    };
    state.grant_added(&grant);
    assert!(matches!(
        r.rest(ALICE, "New-JournalRule").await,
        Out::Forward
    ));
    state.grant_revoked(&grant);
    refused(&r.rest(ALICE, "New-JournalRule").await);
    let remove_mailbox = PolicyRecord {
        id: "P-1".into(),
        scope: Scope::Task("Remove-Mailbox".into()),
        approval: ApprovalKind::Manual,
        approvers: "pam-approvers".into(),
        max_hours: 2,
    };
    assert!(matches!(
        r.rest(ALICE, "Remove-Mailbox").await,
        Out::Forward
    ));
    state.policies_changed(&[remove_mailbox]);
    let out = r.rest(ALICE, "Remove-Mailbox").await;
    assert!(refused(&out).1.contains("policy P-1"));
}

#[tokio::test]
async fn a_rest_batch_with_one_covered_request_is_refused_whole() {
    let r = rig(PamMode::Enforce);
    let inner = |cmdlet: &str| {
        format!(
            r#"{{"id":"{}","method":"POST","url":"/adminapi/beta/contoso.onmicrosoft.com/InvokeCommand","body":{{"CmdletInput":{{"CmdletName":"{cmdlet}","Parameters":{{}}}}}},"headers":{{}}}}"#,
            Uuid::new_v4()
        )
    };
    let body = format!(
        r#"{{"requests":[{},{}]}}"#,
        inner("Get-Mailbox"),
        inner("New-JournalRule")
    );
    let h = head(
        "/adminapi/beta/contoso.onmicrosoft.com/$batch",
        ALICE,
        "application/json",
    );
    let out = r.send(h, body.into_bytes()).await;
    let (status, body) = refused(&out);
    assert_eq!(status, 403, "{body}");
}

#[tokio::test]
async fn receive_on_a_shell_not_opened_through_the_gateway_is_refused() {
    let r = rig(PamMode::Enforce);
    let out = r.winrm(ALICE, &build::receive_envelope(SHELL, None)).await;
    let (status, body) = refused(&out);
    assert_eq!(status, 500);
    assert!(
        body.contains("was not opened through this gateway"),
        "{body}"
    );
}

#[test]
fn only_the_module_download_and_metadata_skip_inspection() {
    use runspace_gateway::gateway::filter::is_harmless_download;
    let get = |uri: &str| http::Request::get(uri).body(()).unwrap().into_parts().0;
    assert!(is_harmless_download(&get(
        "/adminapi/v1.0/contoso/EXOModuleFile?Version=3.4.0"
    )));
    assert!(is_harmless_download(&get(
        "/adminapi/beta/contoso/$metadata"
    )));
    assert!(!is_harmless_download(&get(
        "/adminapi/beta/contoso/InvokeCommand"
    )));
    assert!(!is_harmless_download(&get("/wsman/EXOModuleFile")));
    let post = http::Request::post("/adminapi/v1.0/contoso/EXOModuleFile")
        .body(())
        .unwrap();
    assert!(!is_harmless_download(&post.into_parts().0));
}

#[tokio::test]
async fn shadow_forwarded_denials_still_count_against_rate_limits() {
    use runspace_gateway::policy::{RateCheck, Throttle};
    struct Exhausted;
    impl RateCheck for Exhausted {
        fn check(
            &self,
            _: &runspace_gateway::invocation::Invocation,
            _: i64,
        ) -> Result<(), Throttle> {
            Err(Throttle {
                rule: "per-user".into(),
                retry_after_ms: 2_000,
            })
        }
    }
    let mut groups = BTreeMap::new();
    groups.insert(
        "pam-approvers".to_string(),
        vec!["bob@contoso.com".to_string()],
    );
    let inputs = PolicyInputs {
        pam: PamConfig {
            enabled: true,
            mode: PamMode::Shadow,
            ..PamConfig::default()
        },
        roles: BTreeMap::new(),
        groups,
        request_hours: 4,
    };
    let records = [PolicyRecord {
        id: "C-1".into(),
        scope: Scope::Task("New-JournalRule".into()),
        approval: ApprovalKind::Manual,
        approvers: "pam-approvers".into(),
        max_hours: 8,
    }];
    let audit = Arc::new(MemoryAudit::default());
    let state = GatewayState::new(
        Inspector::new(InspectLimits::default()),
        inputs,
        &records,
        Arc::new(Grants::new()),
        Arc::new(Exhausted),
        audit.clone(),
        Arc::new(FakeClock::new(START)) as SharedClock,
    );
    let r = Rig {
        gateway: Gateway::new(Arc::new(state)),
        audit,
        clock: FakeClock::new(START),
        grants: Arc::new(Grants::new()),
    };
    let out = r.rest(ALICE, "New-JournalRule").await;
    assert_eq!(refused(&out).0, 429);
    assert_eq!(
        r.audit.events().pop().unwrap().decision,
        Some(Audited::Throttle)
    );
}
