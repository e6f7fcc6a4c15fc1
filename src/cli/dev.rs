//! `runspace-gateway dev`: everything on one machine. Dev certificates under the data directory
//! (kept when present), the mock endpoint on loopback, the gateway over TLS in front of it, and
//! the exact lines to connect with pypsrp, curl and PowerShell.
//!
//! The gateway's configuration is built by [`dev_config_toml`], the one place to extend when dev
//! mode gains sample policies, users and tokens. It is also written to `<data>/dev-gateway.toml`
//! so it can be read, copied and run with `serve`.

use crate::admin::auth::token_hash;
use crate::app::App;
use crate::certs::{ensure_dev_certs, DevCerts};
use crate::config::Config;
use crate::mock::{MockOptions, MockServer};
use crate::proxy::shutdown_signal;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Directory for certificates, the mock's command log and (later) the store and audit files.
    #[arg(long, default_value = "data")]
    pub data: PathBuf,
    /// Gateway TLS port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 8443)]
    pub gateway_port: u16,
    /// Mock endpoint port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    pub mock_port: u16,
    /// Where the mock logs each command it received (default `<data>/mock-commands.jsonl`).
    #[arg(long)]
    pub mock_log: Option<PathBuf>,
    /// Admin API TLS port on 127.0.0.1 (0, the default, picks a free one; it is printed).
    #[arg(long, default_value_t = 0)]
    pub admin_port: u16,
}

/// The dev gateway's configuration: TLS on loopback with the dev certificate, forwarding to the
/// mock, state under `data`.
pub fn dev_config_toml(
    data: &Path,
    gateway: SocketAddr,
    mock: SocketAddr,
    certs: &DevCerts,
    users: &DevUsers,
) -> String {
    let q = |p: &Path| toml::Value::String(p.display().to_string()).to_string();
    format!(
        "# Written by `runspace-gateway dev`; regenerated at every start.\n\
         [listen]\naddr = \"{gateway}\"\ncert = {cert}\nkey = {key}\n\n\
         [upstream]\nurl = \"http://{mock}\"\n\n\
         [store]\npath = {store}\n\n\
         [audit]\npath = {audit}\n\n\
         [pam]\nenabled = true\nmode = \"enforce\"\nscripts = \"deny\"\n\n\
         [groups]\n{DEV_APPROVER_GROUP} = [\"{approver}\"]\n\n\
         [[policy]]\ntask = \"{DEV_TASK}\"\napproval = \"manual\"\napprovers = \"{DEV_APPROVER_GROUP}\"\nmax_hours = 8\n\n\
         [[ratelimit]]\nname = \"dev-per-caller\"\nkey = \"principal\"\ncmdlets = [\"*\"]\nper_second = 100\nburst = 200\n\n\
         [admin]\naddr = \"{admin}\"\n\n\
         [[admin.token]]\nprincipal = \"{requester}\"\nsha256 = \"{rt}\"\n\n\
         [[admin.token]]\nprincipal = \"{approver}\"\nsha256 = \"{at}\"\n",
        cert = q(&certs.server_cert),
        key = q(&certs.server_key),
        store = q(&data.join("gateway.db")),
        audit = q(&data.join("audit.jsonl")),
        admin = users.admin,
        requester = DEV_REQUESTER,
        approver = DEV_APPROVER,
        rt = token_hash(&users.requester_token),
        at = token_hash(&users.approver_token),
    )
}

/// The dev requester and approver (their admin tokens are made once and kept in
/// `<data>/dev-tokens`, so a restart keeps them valid).
pub const DEV_REQUESTER: &str = "alice@contoso.com";
pub const DEV_APPROVER: &str = "bob@contoso.com";
pub const DEV_APPROVER_GROUP: &str = "pam-approvers";
pub const DEV_TASK: &str = "New-JournalRule";

/// The seeded admin users' tokens and where the admin API listens.
pub struct DevUsers {
    pub admin: SocketAddr,
    pub requester_token: String,
    pub approver_token: String,
}

/// Read `<data>/dev-tokens` (two lines: requester token, approver token), or make and keep it.
fn dev_tokens(data: &Path) -> Result<(String, String), String> {
    let path = data.join("dev-tokens");
    if let Ok(text) = std::fs::read_to_string(&path) {
        let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
        if let (Some(r), Some(a)) = (lines.next(), lines.next()) {
            return Ok((r.to_string(), a.to_string()));
        }
    }
    let fresh = || uuid::Uuid::new_v4().simple().to_string();
    let (r, a) = (fresh(), fresh());
    std::fs::write(&path, format!("{r}\n{a}\n"))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok((r, a))
}

pub fn run(args: Args) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return super::fail(format!("cannot start the async runtime: {e}")),
    };
    match runtime.block_on(start(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => super::fail(e),
    }
}

async fn start(args: Args) -> Result<(), String> {
    let data = absolute(&args.data)?;
    let certs = ensure_dev_certs(&data.join("certs"), &[])
        .map_err(|e| format!("dev certificates in {}: {e}", data.join("certs").display()))?;
    let mock_log = match args.mock_log {
        Some(p) => absolute(&p)?,
        None => data.join("mock-commands.jsonl"),
    };
    let mock_opts = MockOptions {
        log: Some(mock_log.clone()),
        ..Default::default()
    };
    let mock = MockServer::bind(
        SocketAddr::from(([127, 0, 0, 1], args.mock_port)),
        mock_opts,
    )
    .await
    .map_err(|e| e.to_string())?;
    let mock_addr = mock
        .local_addr()
        .map_err(|e| format!("mock listener: {e}"))?;
    let gateway_addr = SocketAddr::from(([127, 0, 0, 1], args.gateway_port));
    let (requester_token, approver_token) = dev_tokens(&data)?;
    let users = DevUsers {
        admin: SocketAddr::from(([127, 0, 0, 1], args.admin_port)),
        requester_token,
        approver_token,
    };
    let toml_text = dev_config_toml(&data, gateway_addr, mock_addr, &certs, &users);
    let config_path = data.join("dev-gateway.toml");
    std::fs::write(&config_path, &toml_text)
        .map_err(|e| format!("cannot write {}: {e}", config_path.display()))?;
    let config = Config::parse(&toml_text, &config_path).map_err(|e| e.to_string())?;

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let wait = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let mock_task = tokio::spawn(mock.run(wait(stop_rx.clone())));
    let clock = std::sync::Arc::new(crate::clock::SystemClock);
    let running = App::start(config, Some(config_path.clone()), clock, stop_rx).await?;
    let info = Printed {
        gateway: running.gateway_addr,
        admin: running.admin_addr,
        mock: mock_addr,
        ca: &certs.ca_cert,
        mock_log: &mock_log,
        config: &config_path,
        users: &users,
    };
    print_instructions(&info);

    shutdown_signal().await;
    let _ = stop_tx.send(true);
    running.finish().await;
    let _ = mock_task.await;
    Ok(())
}

fn absolute(path: &Path) -> Result<PathBuf, String> {
    std::path::absolute(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// What the instructions mention.
struct Printed<'a> {
    gateway: SocketAddr,
    admin: Option<SocketAddr>,
    users: &'a DevUsers,
    mock: SocketAddr,
    ca: &'a Path,
    mock_log: &'a Path,
    config: &'a Path,
}

fn print_instructions(p: &Printed<'_>) {
    let text = instructions(p);
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// The lines dev mode prints: first the two `listening on` lines tests wait for, then how to
/// connect.
fn instructions(p: &Printed<'_>) -> String {
    let port = p.gateway.port();
    let ca = p.ca.display();
    let url = format!("https://localhost:{port}");
    format!(
        r#"mock-upstream listening on {mock}
gateway listening on {gateway}
{admin_line}
runspace-gateway dev is running (Ctrl-C stops it).
  gateway (TLS)      {url}  ->  mock endpoint http://{mock}
  dev CA certificate {ca}
  gateway config     {config}
  commands received  {log}   (one JSON line per command the mock ran)
  The mock accepts any user name and password (HTTP Basic) and runs nothing: each command
  returns a record of what arrived.

pypsrp (python3 -m pip install pypsrp):
    python3 - <<'EOF'
    from pypsrp.powershell import PowerShell, RunspacePool
    from pypsrp.wsman import WSMan
    wsman = WSMan("localhost", port={port}, path="wsman", ssl=True, auth="basic",
                  username="alice@contoso.com", password="secret",
                  cert_validation="{ca}")
    with RunspacePool(wsman) as pool:
        ps = PowerShell(pool)
        ps.add_cmdlet("Get-Mailbox").add_parameter("Identity", "bob@contoso.com")
        print(ps.invoke()[0].extended_properties)
    EOF

curl (the Exchange Online admin API, REST InvokeCommand):
    curl -s --cacert {ca} -u alice@contoso.com:secret \
      -H 'Content-Type: application/json' \
      -d '{{"CmdletInput":{{"CmdletName":"Get-Mailbox","Parameters":{{"Identity":"bob@contoso.com"}}}}}}' \
      {url}/adminapi/beta/contoso.onmicrosoft.com/InvokeCommand

PowerShell (the dev CA is not in the Windows trust store, so skip its checks):
    $cred = Get-Credential alice@contoso.com
    $opt  = New-PSSessionOption -SkipCACheck -SkipCNCheck
    $s = New-PSSession -ConnectionUri {url}/wsman -Credential $cred -Authentication Basic -SessionOption $opt
    Invoke-Command -Session $s {{ Get-Mailbox -Identity bob@contoso.com }}
    # Exchange-style remote PowerShell through the gateway:
    $s = New-PSSession -ConfigurationName Microsoft.Exchange -ConnectionUri {url}/PowerShell/ `
           -Credential $cred -Authentication Basic -SessionOption $opt
    Import-PSSession $s
    # ExchangeOnlineManagement 3.x (REST; it signs in with Entra ID, then POSTs to
    # {url}/adminapi/beta/<tenant>/InvokeCommand, where the mock accepts any Bearer token):
    Connect-ExchangeOnline -ConnectionUri {url} -UserPrincipalName alice@contoso.com
"#,
        mock = p.mock,
        gateway = p.gateway,
        config = p.config.display(),
        log = p.mock_log.display(),
        admin_line = p
            .admin
            .map(|a| format!("admin listening on {a}\n"))
            .unwrap_or_default(),
    ) + &workflow_instructions(p)
}

/// The privileged-access flow: refused, request, approve, allowed.
fn workflow_instructions(p: &Printed<'_>) -> String {
    let Some(admin) = p.admin else {
        return String::new();
    };
    let (ca, port) = (p.ca.display(), p.gateway.port());
    format!(
        r#"
Privileged access (enforced; {DEV_TASK} needs an approved request):
  admin API          https://{admin}
  {DEV_REQUESTER} (requester) token {rt}
  {DEV_APPROVER} (approver, group {DEV_APPROVER_GROUP}) token {at}
  1. refused:  python3 -c 'from pypsrp.powershell import PowerShell, RunspacePool; from pypsrp.wsman import WSMan; p = RunspacePool(WSMan("localhost", port={port}, path="wsman", ssl=True, auth="basic", username="{DEV_REQUESTER}", password="x", cert_validation="{ca}")); p.open(); ps = PowerShell(p); ps.add_cmdlet("{DEV_TASK}").add_parameter("Name", "j1"); ps.invoke(); print("errors:", ps.streams.error); p.close()'
  2. request:  export RUNSPACE_GATEWAY_ADMIN=https://{admin} RUNSPACE_GATEWAY_CA={ca}
               RUNSPACE_GATEWAY_TOKEN={rt} runspace-gateway request new --task {DEV_TASK} --reason "try it" --hours 1
  3. approve:  RUNSPACE_GATEWAY_TOKEN={at} runspace-gateway request approve R-1 --comment ok
  4. allowed:  the command of step 1 again: no errors, the mock ran it ({log}).
"#,
        rt = p.users.requester_token,
        at = p.users.approver_token,
        log = p.mock_log.display(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn certs(dir: &Path) -> DevCerts {
        DevCerts {
            ca_cert: dir.join("ca.pem"),
            ca_key: dir.join("ca.key"),
            server_cert: dir.join("server.pem"),
            server_key: dir.join("server.key"),
            client_cert: dir.join("client.pem"),
            client_key: dir.join("client.key"),
            written: vec![],
        }
    }

    #[test]
    fn dev_config_is_a_valid_strict_config_pointing_at_the_mock() {
        let data = Path::new("/tmp/dev \"quoted\" dir");
        let text = dev_config_toml(
            data,
            "127.0.0.1:8443".parse().unwrap(),
            "127.0.0.1:5985".parse().unwrap(),
            &certs(&data.join("certs")),
            &users(),
        );
        let config = Config::parse(&text, Path::new("dev-gateway.toml")).unwrap();
        assert_eq!(config.listen.addr, "127.0.0.1:8443".parse().unwrap());
        assert_eq!(config.listen.cert, data.join("certs/server.pem"));
        assert_eq!(config.upstream.url, "http://127.0.0.1:5985");
        assert_eq!(config.store.path, data.join("gateway.db"));
        assert_eq!(config.audit.path, data.join("audit.jsonl"));
        assert!(config.pam.enabled);
        assert_eq!(config.pam.mode, crate::config::PamMode::Enforce);
        assert_eq!(config.groups[DEV_APPROVER_GROUP], [DEV_APPROVER]);
        assert_eq!(config.policy[0].task.as_deref(), Some(DEV_TASK));
        let admin = config.admin.unwrap();
        assert_eq!(admin.addr, "127.0.0.1:9443".parse().unwrap());
        assert_eq!(admin.token[0].principal, DEV_REQUESTER);
        assert_eq!(admin.token[1].sha256, token_hash("approver-token"));
        assert!(!text.contains("requester-token"), "only hashes are written");
        assert_eq!(config.ratelimit.len(), 1);
    }

    fn users() -> DevUsers {
        DevUsers {
            admin: "127.0.0.1:9443".parse().unwrap(),
            requester_token: "requester-token".into(),
            approver_token: "approver-token".into(),
        }
    }

    #[test]
    fn tokens_are_made_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let first = dev_tokens(dir.path()).unwrap();
        assert_ne!(first.0, first.1);
        assert_eq!(dev_tokens(dir.path()).unwrap(), first);
    }

    #[test]
    fn instructions_start_with_the_listening_lines_and_name_the_real_port_and_ca() {
        let users = users();
        let p = Printed {
            gateway: "127.0.0.1:40443".parse().unwrap(),
            admin: Some("127.0.0.1:49443".parse().unwrap()),
            users: &users,
            mock: "127.0.0.1:40985".parse().unwrap(),
            ca: Path::new("/d/certs/ca.pem"),
            mock_log: Path::new("/d/mock-commands.jsonl"),
            config: Path::new("/d/dev-gateway.toml"),
        };
        let text = instructions(&p);
        let mut lines = text.lines();
        assert_eq!(
            lines.next(),
            Some("mock-upstream listening on 127.0.0.1:40985")
        );
        assert_eq!(lines.next(), Some("gateway listening on 127.0.0.1:40443"));
        assert_eq!(lines.next(), Some("admin listening on 127.0.0.1:49443"));
        assert!(text.contains("RUNSPACE_GATEWAY_TOKEN=requester-token runspace-gateway request new --task New-JournalRule"));
        assert!(text.contains(
            "RUNSPACE_GATEWAY_TOKEN=approver-token runspace-gateway request approve R-1"
        ));
        assert!(text.contains("RUNSPACE_GATEWAY_ADMIN=https://127.0.0.1:49443"));
        assert!(
            text.contains("port=40443") && text.contains("cert_validation=\"/d/certs/ca.pem\"")
        );
        assert!(text.contains("curl -s --cacert /d/certs/ca.pem"));
        assert!(text.contains(
            "https://localhost:40443/adminapi/beta/contoso.onmicrosoft.com/InvokeCommand"
        ));
        assert!(text.contains(r#"{"CmdletInput":{"CmdletName":"Get-Mailbox","Parameters":{"Identity":"bob@contoso.com"}}}"#));
        assert!(text.contains("New-PSSessionOption -SkipCACheck -SkipCNCheck"));
        assert!(text.contains("Connect-ExchangeOnline -ConnectionUri https://localhost:40443 "));
    }
}
