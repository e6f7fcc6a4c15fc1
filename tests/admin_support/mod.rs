//! Shared by the admin and workflow integration tests: a test PKI (rcgen), and the admin API
//! served over real HTTPS on 127.0.0.1:0 with a SQLite file and a fake clock.
#![allow(dead_code)]

pub mod smtp_sink;

use runspace_gateway::admin::{self, auth::token_hash, client::AdminClient, AdminApi};
use runspace_gateway::clock::FakeClock;
use runspace_gateway::config::{AdminToken, ApprovalKind};
use runspace_gateway::policy::record::{PolicyRecord, Scope};
use runspace_gateway::store::SqliteStore;
use runspace_gateway::workflow::{RecordingAudit, RecordingLive, Workflow, WorkflowSettings};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub const ALICE: &str = "alice@contoso.com";
pub const BOB: &str = "bob@contoso.com";
pub const MALLORY: &str = "mallory@contoso.com";
pub const HOUR: i64 = 3_600_000;

/// CA, server certificate for 127.0.0.1, and a client certificate for bob.
pub struct Pki {
    pub dir: PathBuf,
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

pub fn pki(dir: &Path) -> Pki {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    };
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "test admin CA");
    let ca_key = KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
        .unwrap()
        .signed_by(&server_key, &ca, &ca_key)
        .unwrap();
    let client_key = KeyPair::generate().unwrap();
    let mut client_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    client_params
        .distinguished_name
        .push(DnType::CommonName, BOB);
    client_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client = client_params.signed_by(&client_key, &ca, &ca_key).unwrap();
    let write = |name: &str, pem: String| {
        let p = dir.join(name);
        std::fs::write(&p, pem).unwrap();
        p
    };
    Pki {
        dir: dir.to_path_buf(),
        ca: write("ca.pem", ca.pem()),
        server_cert: write("server.pem", server.pem()),
        server_key: write("server.key", server_key.serialize_pem()),
        client_cert: write("client.pem", client.pem()),
        client_key: write("client.key", client_key.serialize_pem()),
    }
}

pub fn settings() -> WorkflowSettings {
    let policy = |id: &str, task: &str, approval| PolicyRecord {
        id: id.into(),
        scope: Scope::Task(task.into()),
        approval,
        approvers: "pam-approvers".into(),
        max_hours: 8,
    };
    WorkflowSettings {
        pending_expiry_hours: 24,
        default_hours: 4,
        require_reason: true,
        groups: BTreeMap::from([(
            "pam-approvers".to_string(),
            vec![BOB.to_string(), ALICE.to_string()],
        )]),
        roles: BTreeMap::new(),
        config_policies: vec![
            policy("C-1", "New-JournalRule", ApprovalKind::Manual),
            policy("C-2", "Set-Mailbox", ApprovalKind::Auto),
        ],
        emails: BTreeMap::from([
            (ALICE.to_string(), "alice@mail.test".to_string()),
            (BOB.to_string(), "bob@mail.test".to_string()),
        ]),
        smtp: true,
        webhook: false,
        policy_admins: None,
    }
}

/// A running admin API.
pub struct Running {
    pub tmp: tempfile::TempDir,
    pub pki: Pki,
    pub addr: SocketAddr,
    pub clock: FakeClock,
    pub audit: Arc<RecordingAudit>,
    pub live: Arc<RecordingLive>,
    pub store: Arc<SqliteStore>,
    pub workflow: Arc<Workflow>,
    pub db: PathBuf,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Running {
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }
    /// A client with this principal's token (its token is the principal's local part).
    pub fn client(&self, token: &str) -> AdminClient {
        AdminClient::new(&self.url(), token, &self.pki.ca).unwrap()
    }
}

pub fn tokens() -> Vec<AdminToken> {
    [ALICE, BOB, MALLORY]
        .iter()
        .map(|p| AdminToken {
            principal: p.to_string(),
            sha256: token_hash(p.split('@').next().unwrap_or_default()),
        })
        .collect()
}

/// Start the admin API; `extra` may add routes; `mtls` turns on client certificates.
pub async fn start_with(
    mtls: bool,
    settings: WorkflowSettings,
    extra: impl FnOnce(AdminApi) -> AdminApi,
) -> Running {
    let tmp = tempfile::tempdir().unwrap();
    let pki = pki(tmp.path());
    let db = tmp.path().join("gateway.db");
    let store = Arc::new(SqliteStore::open(&db).unwrap());
    let clock = FakeClock::new(1_700_000_000_000);
    let audit = Arc::new(RecordingAudit::default());
    let live = Arc::new(RecordingLive::default());
    let workflow = Arc::new(Workflow::new(
        store.clone(),
        Arc::new(clock.clone()),
        audit.clone(),
        live.clone(),
        settings,
    ));
    let api = extra(AdminApi::new(
        workflow.clone(),
        admin::auth::TokenSet::from_config(&tokens()),
    ));
    let ca = mtls.then_some(pki.ca.as_path());
    let tls = admin::tls::server_config(&pki.server_cert, &pki.server_key, ca).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(admin::serve(
        listener,
        Arc::new(tls),
        Arc::new(api),
        async move {
            let _ = stopped.await;
        },
    ));
    Running {
        tmp,
        pki,
        addr,
        clock,
        audit,
        live,
        store,
        workflow,
        db,
        _stop: stop,
    }
}

pub async fn start() -> Running {
    start_with(false, settings(), |a| a).await
}
