//! Notifications end to end: the workflow queues them in the SQLite outbox, the outbox worker
//! sends them through lettre to a real SMTP server (the Rust sink in admin_support) and to a
//! real HTTP webhook receiver, and a failed delivery is retried with backoff by the fake clock.

mod admin_support;

use admin_support::smtp_sink;
use admin_support::*;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use runspace_gateway::config::{NotifyConfig, SmtpConfig, SmtpTls, WebhookConfig};
use runspace_gateway::notify::outbox::{backoff_ms, OutboxWorker, Pass};
use runspace_gateway::notify::Notifier;
use runspace_gateway::store::{SqliteStore, Store};
use runspace_gateway::workflow::{RecordingAudit, RecordingLive, RequestInput, Workflow};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

struct Setup {
    _tmp: tempfile::TempDir,
    clock: runspace_gateway::clock::FakeClock,
    workflow: Workflow,
    worker: OutboxWorker,
    sink: Arc<smtp_sink::Sink>,
    hooks: Arc<Mutex<Vec<serde_json::Value>>>,
    store: Arc<SqliteStore>,
}

/// A webhook receiver: records each JSON body, answers 200.
async fn webhook_receiver() -> (String, Arc<Mutex<Vec<serde_json::Value>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook/abc", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let s = s.clone();
            tokio::spawn(async move {
                let svc =
                    hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                        let s = s.clone();
                        async move {
                            assert_eq!(req.uri().path(), "/hook/abc");
                            let body = req.into_body().collect().await.unwrap().to_bytes();
                            s.lock()
                                .unwrap()
                                .push(serde_json::from_slice(&body).unwrap());
                            Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(
                                Bytes::from_static(b"ok"),
                            )))
                        }
                    });
                let io = hyper_util::rt::TokioIo::new(tcp);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(io, svc)
                    .await;
            });
        }
    });
    (url, seen)
}

async fn setup() -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let (port, sink) = smtp_sink::start().await;
    let (url, hooks) = webhook_receiver().await;
    let notify = NotifyConfig {
        smtp: Some(SmtpConfig {
            host: "127.0.0.1".into(),
            port,
            tls: SmtpTls::None,
            from: "pam@contoso.com".into(),
            username: None,
            password: None,
        }),
        webhook: Some(WebhookConfig { url }),
    };
    let store = Arc::new(SqliteStore::open(&tmp.path().join("g.db")).unwrap());
    let clock = runspace_gateway::clock::FakeClock::new(1_700_000_000_000);
    let mut s = settings();
    s.webhook = true;
    let workflow = Workflow::new(
        store.clone(),
        Arc::new(clock.clone()),
        Arc::new(RecordingAudit::default()),
        Arc::new(RecordingLive::default()),
        s,
    );
    let worker = OutboxWorker {
        store: store.clone(),
        deliver: Arc::new(Notifier::from_config(&notify).unwrap()),
        clock: Arc::new(clock.clone()),
    };
    Setup {
        _tmp: tmp,
        clock,
        workflow,
        worker,
        sink,
        hooks,
        store,
    }
}

fn journal_request() -> RequestInput {
    RequestInput {
        task: Some("New-JournalRule".into()),
        reason: Some("legal hold for case 42".into()),
        hours: Some(3),
    }
}

#[tokio::test]
async fn approvers_get_the_request_and_the_requester_gets_the_decision() {
    let s = setup().await;
    s.workflow
        .create_request(ALICE, journal_request())
        .await
        .unwrap();
    assert_eq!(
        s.worker.run_once().await.unwrap(),
        Pass {
            delivered: 2,
            failed: 0
        },
        "bob's mail and the webhook"
    );

    let to_bob = s.sink.to("bob@mail.test");
    assert_eq!(to_bob.len(), 1);
    let mail = &to_bob[0];
    assert_eq!(mail.from, "pam@contoso.com");
    for expected in [
        "Subject: [runspace-gateway] alice@contoso.com requests New-JournalRule for 3 h (R-1)",
        "Reason:   legal hold for case 42",
        "Duration: 3 hour(s)",
        "runspace-gateway request approve R-1 --comment \"...\"",
        "runspace-gateway request deny R-1 --comment \"...\"",
    ] {
        assert!(
            mail.unfolded().contains(expected),
            "missing {expected:?} in:\n{}",
            mail.data
        );
    }
    assert!(
        s.sink.to("alice@mail.test").is_empty(),
        "the requester is not asked to approve"
    );
    let hook = s.hooks.lock().unwrap()[0].clone();
    assert!(hook["text"].as_str().unwrap().contains("R-1"), "{hook}");

    s.workflow
        .approve(BOB, "R-1", Some("go ahead".into()))
        .await
        .unwrap();
    assert_eq!(s.worker.run_once().await.unwrap().delivered, 2);
    let to_alice = s.sink.to("alice@mail.test");
    assert_eq!(to_alice.len(), 1);
    assert!(
        to_alice[0].data.contains("was approved by bob@contoso.com"),
        "{}",
        to_alice[0].data
    );
    assert!(to_alice[0].data.contains("Comment: go ahead"));
    assert_eq!(
        s.worker.run_once().await.unwrap(),
        Pass::default(),
        "each mail is sent once"
    );
}

#[tokio::test]
async fn deny_and_expiry_are_mailed_to_the_requester() {
    let s = setup().await;
    s.workflow
        .create_request(ALICE, journal_request())
        .await
        .unwrap();
    s.workflow
        .deny(BOB, "R-1", Some("use the archive".into()))
        .await
        .unwrap();
    s.workflow
        .create_request(
            ALICE,
            RequestInput {
                task: Some("Exchange\\New-JournalRule".into()),
                ..journal_request()
            },
        )
        .await
        .unwrap();
    s.clock.advance_ms(24 * HOUR);
    assert_eq!(s.workflow.expire_due().await.unwrap().len(), 1);
    s.worker.run_once().await.unwrap();
    let to_alice = s.sink.to("alice@mail.test");
    let subjects: Vec<_> = to_alice
        .iter()
        .map(|m| {
            m.unfolded()
                .lines()
                .find(|l| l.starts_with("Subject:"))
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    assert!(
        subjects.iter().any(|l| l.contains("R-1 denied")),
        "{subjects:?}"
    );
    assert!(
        subjects.iter().any(|l| l.contains("R-2 expired")),
        "{subjects:?}"
    );
}

#[tokio::test]
async fn a_failed_mail_is_kept_and_retried_with_backoff() {
    let s = setup().await;
    s.sink.refuse_next.store(1, Ordering::SeqCst);
    s.workflow
        .create_request(ALICE, journal_request())
        .await
        .unwrap();
    let first = s.worker.run_once().await.unwrap();
    assert_eq!(
        first,
        Pass {
            delivered: 1,
            failed: 1
        },
        "the webhook went, the mail was refused"
    );
    assert!(s.sink.to("bob@mail.test").is_empty());
    assert_eq!(
        s.workflow.get_request("R-1").await.unwrap().state.as_str(),
        "pending",
        "the request is not lost"
    );

    s.clock.advance_ms(backoff_ms(1) - 1);
    assert_eq!(
        s.worker.run_once().await.unwrap(),
        Pass::default(),
        "not before the backoff"
    );
    s.clock.advance_ms(1);
    assert_eq!(s.worker.run_once().await.unwrap().delivered, 1);
    assert_eq!(s.sink.to("bob@mail.test").len(), 1);
    assert!(s.store.due_outbox(i64::MAX, 10).unwrap().is_empty());
}

#[tokio::test]
async fn an_unreachable_mail_server_loses_nothing() {
    let s = setup().await;
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let notify = NotifyConfig {
        smtp: Some(SmtpConfig {
            host: "127.0.0.1".into(),
            port: closed,
            tls: SmtpTls::None,
            from: "pam@contoso.com".into(),
            username: None,
            password: None,
        }),
        webhook: None,
    };
    let worker = OutboxWorker {
        store: s.store.clone(),
        deliver: Arc::new(Notifier::from_config(&notify).unwrap()),
        clock: Arc::new(s.clock.clone()),
    };
    s.workflow
        .create_request(ALICE, journal_request())
        .await
        .unwrap();
    let pass = worker.run_once().await.unwrap();
    assert_eq!(
        pass,
        Pass {
            delivered: 0,
            failed: 2
        },
        "mail refused, webhook not configured here"
    );
    let queued = s.store.due_outbox(i64::MAX, 10).unwrap();
    assert_eq!(queued.len(), 2);
    assert!(queued.iter().all(|q| q.attempts == 1));
    s.clock.advance_ms(backoff_ms(1));
    assert_eq!(
        s.worker.run_once().await.unwrap().delivered,
        2,
        "delivered once a server answers"
    );
}
