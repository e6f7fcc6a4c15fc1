//! The cost of building one audit record: redacted cmdlets, canonical bytes and the chain hash.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use runspace_gateway::audit::record::seal;
use runspace_gateway::audit::{AuditEvent, Decision, GENESIS_PREV};
use runspace_gateway::invocation::{Command, Invocation, Param, Protocol};
use serde_json::json;

fn invocation() -> Invocation {
    let param = |name: &str, value| Param {
        name: name.into(),
        value,
        bare: false,
    };
    Invocation {
        principal: "alice@contoso.com".into(),
        protocol: Protocol::Winrm,
        tenant: Some("contoso.onmicrosoft.com".into()),
        shell_id: Some("2D6534D0-6B12-40E3-B773-CBA26459CFA8".into()),
        command_id: Some("5AB9B0A4-6D31-4E1F-9B8B-7C1E4B0D2A11".into()),
        statements: vec![vec![Command {
            name: "Set-Mailbox".into(),
            module: None,
            params: vec![
                param("Identity", json!("bob@contoso.com")),
                param("ForwardingSmtpAddress", json!("archive@contoso.com")),
                param("Password", json!("hunter2")),
            ],
            positional: vec![],
            is_script: false,
            has_script_block: false,
        }]],
    }
}

fn build_record(c: &mut Criterion) {
    let inv = invocation();
    c.bench_function("audit: event from invocation (redacted)", |b| {
        b.iter(|| AuditEvent::decision(black_box(&inv), Decision::Allow))
    });
    let ev = AuditEvent::decision(&inv, Decision::Allow).with_reason("grant g-1 (policy p-1)");
    c.bench_function("audit: seal one record (canonical bytes + hash)", |b| {
        b.iter(|| {
            seal(
                "2026-01-01T00:00:00.000Z",
                black_box(42),
                black_box(&ev),
                GENESIS_PREV,
            )
        })
    });
}

criterion_group!(benches, build_record);
criterion_main!(benches);
