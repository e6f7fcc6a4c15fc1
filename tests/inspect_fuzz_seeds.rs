//! Seed corpora for `fuzz/`, generated from the project's own traffic builders. Every seed must
//! inspect cleanly (so the fuzzer starts from deep, valid paths), and every framing seed must
//! pass the framing guard. With `FUZZ_SEED_DIR` set, the seeds are written to
//! `$FUZZ_SEED_DIR/<target>/` (fuzz/run.sh does this).

use runspace_gateway::config::InspectLimits;
use runspace_gateway::inspect::build::{self, s, CmdSpec};
use runspace_gateway::inspect::{pipeline, rest, Inspector};
use runspace_gateway::proxy::{FramingTracker, FramingVerdict};
use runspace_gateway::psrp::{fragment, message::MessageType};
use uuid::Uuid;

const SHELL: &str = "76056A84-51DC-4F24-9262-CA2A55464B2B";
const CMD: &str = "E888E1DF-C962-41D6-BEFD-F2C82D0ABCCA";
const SEPARATOR: &str = "\n--8<--\n";

fn pipelines() -> Vec<Vec<Vec<CmdSpec>>> {
    let mut script = CmdSpec::new(
        "Get-Mailbox | Set-Mailbox -HiddenFromAddressListsEnabled $true",
        &[],
    );
    script.is_script = true;
    vec![
        vec![vec![CmdSpec::new("Get-Mailbox", &[(Some("Identity"), &s("bob")), (Some("-ResultSize:"), &s("Unlimited"))])]],
        vec![
            vec![CmdSpec::new("Exchange\\New-JournalRule", &[(Some("-Name"), "<Nil/>"), (None, &s("r1")), (Some("Enabled"), "<B>true</B>")])],
            vec![CmdSpec::new("Remove-Mailbox", &[(None, &s("ceo")), (Some("-Confirm:"), "<B>false</B>")]), CmdSpec::new("Out-String", &[])],
        ],
        vec![vec![script]],
        vec![vec![CmdSpec::new(
            "Set-Mailbox",
            &[
                (Some("Password"), "<SS>AAAA</SS>"),
                (Some("Filter"), "<SBK>$_.Name -eq 'x'</SBK>"),
                (Some("Emails"), "<Obj RefId=\"90\"><TN RefId=\"90\"><T>System.Object[]</T></TN><LST><S>a_x000A_</S><I32>2</I32></LST></Obj>"),
                (Some("Add"), "<Obj RefId=\"91\"><DCT><En><S N=\"Key\">add</S><S N=\"Value\">x</S></En></DCT></Obj>"),
                (Some("Again"), "<Ref RefId=\"90\"/>"),
            ],
        )]],
    ]
}

fn message(cmds: &[Vec<CmdSpec>]) -> Vec<u8> {
    let xml = build::create_pipeline_xml(cmds, true);
    build::message(
        MessageType::CreatePipeline,
        Uuid::parse_str(SHELL).unwrap(),
        Uuid::parse_str(CMD).unwrap(),
        xml.as_bytes(),
    )
}

fn create() -> String {
    let cap = build::message(
        MessageType::SessionCapability,
        Uuid::nil(),
        Uuid::nil(),
        b"<Obj RefId=\"0\"><MS><Version N=\"protocolversion\">2.3</Version></MS></Obj>",
    );
    build::create_envelope(SHELL, &fragment::encode_message(1, &cap, 32_768), false)
}

/// Request sequences: Create, Command, then Sends, for each pipeline and fragment size.
fn sessions() -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for (i, p) in pipelines().iter().enumerate() {
        for max_blob in [32_768, 300] {
            let payloads = build::fragment_payloads(10 + i as u64, &message(p), max_blob, 2);
            let mut reqs = vec![create(), build::command_envelope(SHELL, CMD, &payloads[0])];
            for p in &payloads[1..] {
                reqs.push(build::send_envelope(SHELL, Some(CMD), &[p]));
            }
            reqs.push(build::receive_envelope(SHELL, Some(CMD)));
            reqs.push(build::signal_envelope(
                SHELL,
                CMD,
                "powershell/signal/crtl_c",
            ));
            reqs.push(build::delete_envelope(SHELL));
            out.push(reqs);
        }
    }
    out
}

fn rest_bodies() -> Vec<String> {
    vec![
        r#"{"CmdletInput":{"CmdletName":"Get-Mailbox","Parameters":{"Identity":"bob","ResultSize":"Unlimited"}}}"#.into(),
        r##"{"CmdletInput":{"CmdletName":"Set-Mailbox","Parameters":{"Identity":"x","EmailAddresses@odata.type":"#Collection(String)","EmailAddresses":["a","b"],"Add":{"@odata.type":"#Exchange.GenericHashTable","k":1},"Password":"enc"}}}"##.into(),
        r#"{"requests":[{"id":"1","method":"POST","url":"/adminapi/beta/t/InvokeCommand","body":{"CmdletInput":{"CmdletName":"Get-Mailbox"}},"headers":{"X-CmdletName":"Get-Mailbox"}},{"id":"2","method":"POST","url":"https://outlook.office365.com/adminapi/beta/t/InvokeCommand","body":{"CmdletInput":{"CmdletName":"Remove-Mailbox","Parameters":{"Identity":"ceo","Confirm":false}}}}]}"#.into(),
    ]
}

/// Keep-alive request streams the framing guard passes: length and chunked bodies, a stray
/// empty line between requests.
fn request_streams() -> Vec<String> {
    let post = |body: &str| {
        format!(
            "POST /wsman HTTP/1.1\r\nHost: g\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    let chunked = "POST /adminapi/beta/t/InvokeCommand HTTP/1.1\r\nHost: g\r\n\
                   Transfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\nX-T: 1\r\n\r\n";
    vec![
        format!("{}{}", post("<s:Envelope/>"), post("")),
        format!("{chunked}\r\nGET /metrics HTTP/1.1\r\nHost: g\r\n\r\n"),
    ]
}

fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let mut out = Vec::new();
    for (i, stream) in request_streams().into_iter().enumerate() {
        let mut seed = vec![i as u8 * 5]; // the first byte picks the read size
        seed.extend(stream.into_bytes());
        out.push(("framing", seed));
    }
    for session in sessions() {
        out.push(("request", session.join(SEPARATOR).into_bytes()));
        for env in &session {
            out.push(("envelope", env.clone().into_bytes()));
        }
    }
    for (i, p) in pipelines().iter().enumerate() {
        out.push((
            "clixml",
            build::create_pipeline_xml(p, i % 2 == 0).into_bytes(),
        ));
        let mut frags = vec![0b1010_1010u8];
        frags.extend(fragment::encode_message(3, &message(p), 97));
        out.push(("fragments", frags));
    }
    out.push(("clixml", br#"<Obj RefId="0"><MS><Obj N="Name" RefId="1"><TN RefId="0"><T>System.String[]</T></TN><LST><S>new-*</S></LST></Obj><I32 N="CommandType">511</I32><Nil N="Namespace"/><Nil N="ArgumentList"/></MS></Obj>"#.to_vec()));
    for body in rest_bodies() {
        out.push(("rest_json", body.into_bytes()));
    }
    out
}

#[test]
fn seeds_inspect_cleanly_and_are_written_when_asked() {
    let limits = InspectLimits::default();
    for session in sessions() {
        let inspector = Inspector::new(limits.clone());
        let (head, ()) = http::Request::builder()
            .method("POST")
            .uri("/wsman")
            .header("authorization", "Basic dXNlcjpwdw==")
            .body(())
            .unwrap()
            .into_parts();
        let found = session
            .iter()
            .filter(|r| {
                inspector
                    .inspect(&head, r.as_bytes(), None, 0)
                    .unwrap()
                    .invocation()
                    .is_some()
            })
            .count();
        assert_eq!(found, 1);
    }
    for body in rest_bodies() {
        let path = if body.contains("requests") {
            "/adminapi/beta/t/$batch"
        } else {
            "/adminapi/beta/t/InvokeCommand"
        };
        rest::inspect_rest(path, None, body.as_bytes(), "u", &limits).unwrap();
    }
    for p in pipelines() {
        pipeline::parse_create_pipeline(build::create_pipeline_xml(&p, true).as_bytes(), &limits)
            .unwrap();
    }
    for stream in request_streams() {
        let verdict = std::sync::Arc::new(FramingVerdict::default());
        FramingTracker::new(verdict.clone())
            .feed(stream.as_bytes())
            .unwrap();
        assert_eq!(verdict.for_request(0), None, "{stream:?}");
        assert_eq!(verdict.for_request(9), None, "{stream:?}");
    }
    let Ok(dir) = std::env::var("FUZZ_SEED_DIR") else {
        return;
    };
    for (i, (target, bytes)) in seeds().into_iter().enumerate() {
        let d = std::path::Path::new(&dir).join(target);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join(format!("seed-{i:03}")), bytes).unwrap();
    }
}
