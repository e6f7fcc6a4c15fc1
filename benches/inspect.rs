//! Inspection throughput (MB/s of request body), next to a bare quick-xml scan of the same
//! bytes (and a bare serde_json scan for REST), so regressions show as a ratio.

use base64::Engine;
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use quick_xml::events::Event;
use runspace_gateway::config::InspectLimits;
use runspace_gateway::inspect::build::{self, s, CmdSpec};
use runspace_gateway::inspect::{rest, WinrmInspector};
use runspace_gateway::psrp::clixml::{self, ClixmlLimits};
use runspace_gateway::psrp::{fragment, message::MessageType};
use uuid::Uuid;

/// The gateway binary's allocator, so the figures are the ones the gateway sees.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SHELL: &str = "76056A84-51DC-4F24-9262-CA2A55464B2B";
const CMD: &str = "E888E1DF-C962-41D6-BEFD-F2C82D0ABCCA";

/// A Command envelope like implicit remoting sends: two statements, a dozen parameters; and
/// the base64 text of its Arguments.
fn command_envelope() -> (String, String, String) {
    let args: Vec<(Option<String>, String)> = (0..12)
        .map(|i| {
            (
                Some(format!("-Parameter{i}:")),
                s(&format!("value number {i} for the mailbox")),
            )
        })
        .collect();
    let cmd = |name: &str| CmdSpec {
        cmd: name.into(),
        is_script: false,
        args: args.clone(),
    };
    let xml = build::create_pipeline_xml(
        &[
            vec![cmd("Set-Mailbox")],
            vec![cmd("Get-Mailbox"), cmd("Out-String")],
        ],
        true,
    );
    let msg = build::message(
        MessageType::CreatePipeline,
        Uuid::nil(),
        Uuid::nil(),
        xml.as_bytes(),
    );
    let fragments = fragment::encode_message(3, &msg, 32_768);
    let arguments = base64::engine::general_purpose::STANDARD.encode(&fragments);
    (
        build::command_envelope(SHELL, CMD, &fragments),
        arguments,
        xml,
    )
}

fn opened() -> WinrmInspector {
    let w = WinrmInspector::new(InspectLimits::default());
    let cap = build::message(
        MessageType::SessionCapability,
        Uuid::nil(),
        Uuid::nil(),
        b"<Obj RefId=\"0\"/>",
    );
    let env = build::create_envelope(SHELL, &fragment::encode_message(1, &cap, 32_768), false);
    w.inspect(env.as_bytes(), "u", None, 0).expect("create");
    w
}

fn bare_xml_scan(bytes: &[u8]) -> usize {
    let mut reader = quick_xml::Reader::from_reader(bytes);
    let mut n = 0;
    loop {
        match reader.read_event() {
            Ok(Event::Eof) | Err(_) => return n,
            Ok(_) => n += 1,
        }
    }
}

fn winrm(c: &mut Criterion) {
    let (env, arguments, clixml) = command_envelope();
    let w = opened();
    assert!(w
        .inspect(env.as_bytes(), "u", None, 1)
        .unwrap()
        .completes_pipeline());
    let mut g = c.benchmark_group("winrm_command");
    g.throughput(Throughput::Bytes(env.len() as u64));
    g.bench_function("full_inspection", |b| {
        b.iter(|| w.inspect(black_box(env.as_bytes()), "u", None, 1).unwrap())
    });
    g.bench_function("bare_quick_xml_scan", |b| {
        b.iter(|| bare_xml_scan(black_box(env.as_bytes())))
    });
    // Not inspection: the least any inspection must do that the bare scan skips (decode the
    // base64 Arguments), measured per byte of the same envelope.
    g.bench_function("base64_decode_of_the_arguments_only", |b| {
        b.iter(|| {
            base64::engine::general_purpose::STANDARD
                .decode(black_box(arguments.as_bytes()))
                .unwrap()
        })
    });
    // The floor for any inspection that reads the pipeline with quick-xml: decode the base64
    // Arguments and scan both documents bare. The envelope's bare scan skips the base64 text
    // in one event; the nested CLIXML is hundreds of small elements.
    g.bench_function(
        "floor_base64_decode_and_bare_scans_of_both_documents",
        |b| {
            b.iter(|| {
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(black_box(arguments.as_bytes()))
                    .unwrap();
                bare_xml_scan(black_box(env.as_bytes()))
                    + bare_xml_scan(black_box(clixml.as_bytes()))
                    + decoded.len()
            })
        },
    );
    // Not inspection either: the CLIXML reader alone on the decoded pipeline, per envelope byte.
    let clixml_limits = ClixmlLimits::from_config(&InspectLimits::default());
    g.bench_function("clixml_parse_of_the_decoded_pipeline_only", |b| {
        b.iter(|| clixml::parse(black_box(clixml.as_bytes()), &clixml_limits).unwrap())
    });
    g.finish();
}

fn rest_body(c: &mut Criterion) {
    let params: Vec<String> = (0..20)
        .map(|i| format!("\"Parameter{i}\":\"value number {i} for the mailbox\""))
        .collect();
    let body = format!(
        "{{\"CmdletInput\":{{\"CmdletName\":\"Set-Mailbox\",\"Parameters\":{{{}}}}}}}",
        params.join(",")
    );
    let limits = InspectLimits::default();
    let path = "/adminapi/beta/t/InvokeCommand";
    let mut g = c.benchmark_group("rest_invoke_command");
    g.throughput(Throughput::Bytes(body.len() as u64));
    g.bench_function("full_inspection", |b| {
        b.iter(|| rest::inspect_rest(path, None, black_box(body.as_bytes()), "u", &limits).unwrap())
    });
    g.bench_function("bare_quick_xml_scan", |b| {
        b.iter(|| bare_xml_scan(black_box(body.as_bytes())))
    });
    g.bench_function("bare_serde_json_scan", |b| {
        b.iter(|| {
            serde_json::from_slice::<serde::de::IgnoredAny>(black_box(body.as_bytes())).unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, winrm, rest_body);
criterion_main!(benches);
