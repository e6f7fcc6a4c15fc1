//! With `[audit] to_stdout = true`, every record also goes through tracing (target "audit"),
//! so log shippers can collect it. One test per binary: it installs the global subscriber.

use runspace_gateway::audit::{AuditEvent, AuditLog, EventKind};
use runspace_gateway::clock::FakeClock;
use runspace_gateway::config::AuditConfig;
use std::io::Write;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn records_are_emitted_as_json_through_tracing_when_asked() {
    let captured = Captured::default();
    let sink = captured.clone();
    tracing_subscriber::fmt()
        .json()
        .with_writer(move || sink.clone())
        .init();
    let dir = tempfile::tempdir().unwrap();
    let cfg = AuditConfig {
        path: dir.path().join("audit.jsonl"),
        to_stdout: true,
        ..AuditConfig::default()
    };
    let log = AuditLog::open(&cfg, Arc::new(FakeClock::new(0))).unwrap();
    log.append(AuditEvent::new(EventKind::GatewayStart))
        .await
        .unwrap();
    log.close().await.unwrap();
    let stored = std::fs::read_to_string(&cfg.path).unwrap();
    let logged = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let record_line = logged
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["fields"]["record"].is_string())
        .unwrap_or_else(|| panic!("no record logged: {logged}"));
    assert_eq!(record_line["target"], "audit");
    assert_eq!(
        record_line["fields"]["record"].as_str().unwrap(),
        stored.trim_end()
    );
}
