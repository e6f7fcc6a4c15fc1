//! `runspace-gateway ratelimit status`: the rules and the keys most throttled recently, read
//! from the admin API (`GET /v1/ratelimit`).
//!
//! The HTTPS call here is deliberately minimal; it should move onto the shared admin client
//! (`cli/admin_client.rs`) once that exists.

use crate::ratelimit::RateLimitStatus;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Largest status answer read; the status is bounded (rules plus the top throttled keys).
pub const MAX_STATUS_BYTES: usize = 4 * 1024 * 1024;

/// How long the whole admin call may take.
pub const ADMIN_CALL_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, clap::Subcommand)]
pub enum RatelimitCommand {
    /// Show the rules and the keys most throttled recently.
    Status(StatusArgs),
}

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// The admin API base URL, e.g. https://gateway.example:9443
    #[arg(long, env = "RUNSPACE_GATEWAY_ADMIN")]
    pub admin: String,
    /// An admin bearer token.
    #[arg(long, env = "RUNSPACE_GATEWAY_TOKEN", hide_env_values = true)]
    pub token: String,
    /// The CA certificate (PEM) that signed the admin listener's certificate.
    #[arg(long, env = "RUNSPACE_GATEWAY_CA")]
    pub ca: PathBuf,
    /// Print the status as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(c: RatelimitCommand) -> ExitCode {
    match c {
        RatelimitCommand::Status(args) => status(args),
    }
}

fn status(args: StatusArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return super::fail(format!("cannot start the async runtime: {e}")),
    };
    let body = match runtime.block_on(https::get_json(&args, "/v1/ratelimit")) {
        Ok(body) => body,
        Err(e) => return super::fail(e),
    };
    let status: RateLimitStatus = match serde_json::from_slice(&body) {
        Ok(s) => s,
        Err(e) => {
            return super::fail(format!(
                "admin API: GET /v1/ratelimit answered JSON this version cannot read ({e}); \
                 are the CLI and the gateway the same version?"
            ))
        }
    };
    if args.json {
        match serde_json::to_string_pretty(&status) {
            Ok(text) => println!("{text}"),
            Err(e) => return super::fail(format!("cannot print JSON: {e}")),
        }
    } else {
        print!("{}", render(&status));
    }
    ExitCode::SUCCESS
}

/// The status as a person reads it.
pub fn render(s: &RateLimitStatus) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "RULE                 KEY               QUOTA          BURST  KEYS     THROTTLED  CMDLETS"
    );
    for r in &s.rules {
        let quota = format!("{}/{}", r.quota.count, r.quota.per);
        let _ = writeln!(
            out,
            "{:<20} {:<17} {:<14} {:<6} {:<8} {:<10} {}",
            r.name,
            r.key,
            quota,
            r.burst,
            r.active_keys,
            r.throttled_total,
            r.cmdlets.join(",")
        );
    }
    let minutes = s.recent_window_secs / 60;
    if s.top_throttled.is_empty() {
        let _ = writeln!(out, "\nNo key throttled in the last {minutes} minutes.");
        return out;
    }
    let _ = writeln!(out, "\nMost throttled in the last {minutes} minutes:");
    let _ = writeln!(
        out,
        "COUNT    RULE                 LAST                      KEY"
    );
    for k in &s.top_throttled {
        let _ = writeln!(
            out,
            "{:<8} {:<20} {:<25} {}",
            k.count, k.rule, k.last_throttled, k.key
        );
    }
    out
}

mod https {
    //! One GET over HTTPS with a bearer token, verified against a given CA.

    use super::{StatusArgs, ADMIN_CALL_TIMEOUT, MAX_STATUS_BYTES};
    use bytes::Bytes;
    use http_body_util::{BodyExt, Empty, Limited};
    use hyper_util::rt::TokioIo;
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, ServerName};
    use std::sync::Arc;

    pub async fn get_json(args: &StatusArgs, path: &str) -> Result<Bytes, String> {
        tokio::time::timeout(ADMIN_CALL_TIMEOUT, get(args, path))
            .await
            .map_err(|_| {
                format!(
                    "admin API {}: no answer within {ADMIN_CALL_TIMEOUT:?}",
                    args.admin
                )
            })?
    }

    async fn get(args: &StatusArgs, path: &str) -> Result<Bytes, String> {
        let base: http::Uri = args.admin.parse().map_err(|e| {
            format!(
                "--admin {:?}: not a URL ({e}); use https://HOST:PORT",
                args.admin
            )
        })?;
        if base.scheme_str() != Some("https") {
            return Err(format!(
                "--admin {:?}: the admin API is served over https://",
                args.admin
            ));
        }
        let host = base
            .host()
            .ok_or_else(|| format!("--admin {:?}: no host", args.admin))?;
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = base.port_u16().unwrap_or(443);
        let tls = connect(args, &host, port).await?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| format!("admin API {}: HTTP handshake failed: {e}", args.admin))?;
        tokio::spawn(conn);
        let prefix = base.path().trim_end_matches('/');
        let request = http::Request::get(format!("{prefix}{path}"))
            .header(
                http::header::HOST,
                base.authority().map(|a| a.as_str()).unwrap_or(&host),
            )
            .header(
                http::header::AUTHORIZATION,
                format!("Bearer {}", args.token),
            )
            .header(http::header::ACCEPT, "application/json")
            .body(Empty::<Bytes>::new())
            .map_err(|e| format!("cannot build the request: {e}"))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| format!("admin API {}: request failed: {e}", args.admin))?;
        let status = response.status();
        let body = Limited::new(response.into_body(), MAX_STATUS_BYTES)
            .collect()
            .await
            .map_err(|e| format!("admin API {}: reading the answer failed: {e}", args.admin))?
            .to_bytes();
        if !status.is_success() {
            let text = String::from_utf8_lossy(&body);
            return Err(format!(
                "admin API answered {status} for GET {path}: {}",
                text.trim()
            ));
        }
        Ok(body)
    }

    async fn connect(
        args: &StatusArgs,
        host: &str,
        port: u16,
    ) -> Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>, String> {
        let mut roots = rustls::RootCertStore::empty();
        let certs = CertificateDer::pem_file_iter(&args.ca).map_err(|e| {
            format!(
                "--ca {}: cannot read PEM certificates: {e}",
                args.ca.display()
            )
        })?;
        for cert in certs {
            let cert = cert.map_err(|e| format!("--ca {}: bad PEM: {e}", args.ca.display()))?;
            roots.add(cert).map_err(|e| {
                format!(
                    "--ca {}: not a usable CA certificate: {e}",
                    args.ca.display()
                )
            })?;
        }
        if roots.is_empty() {
            return Err(format!(
                "--ca {}: no certificate in the file",
                args.ca.display()
            ));
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS setup failed: {e}"))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name = ServerName::try_from(host.to_string())
            .map_err(|e| format!("--admin host {host:?} is not a valid TLS server name: {e}"))?;
        let tcp = tokio::net::TcpStream::connect((host, port))
            .await
            .map_err(|e| format!("admin API {}: cannot connect: {e}", args.admin))?;
        tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .map_err(|e| format!("admin API {}: TLS failed: {e}", args.admin))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ratelimit::{QuotaStatus, RuleStatus, ThrottledKey};

    #[test]
    fn render_lists_rules_then_throttled_keys_or_says_there_are_none() {
        let mut s = RateLimitStatus {
            rules: vec![RuleStatus {
                name: "per-user".into(),
                key: "principal".into(),
                cmdlets: vec!["Get-*".into(), "Set-Mailbox".into()],
                quota: QuotaStatus {
                    count: 600,
                    per: "minute".into(),
                },
                burst: 50,
                max_keys: 100_000,
                active_keys: 12,
                throttled_total: 9,
            }],
            top_throttled: vec![],
            recent_window_secs: 900,
        };
        let text = render(&s);
        assert!(
            text.contains("per-user")
                && text.contains("600/minute")
                && text.contains("Get-*,Set-Mailbox")
        );
        assert!(
            text.contains("No key throttled in the last 15 minutes."),
            "{text}"
        );
        s.top_throttled.push(ThrottledKey {
            rule: "per-user".into(),
            key: "bob@contoso.com".into(),
            count: 9,
            first_throttled: "2026-01-01T00:00:00.000Z".into(),
            last_throttled: "2026-01-01T00:01:00.000Z".into(),
        });
        let text = render(&s);
        assert!(
            text.lines()
                .any(|l| l.starts_with("9 ") && l.ends_with("bob@contoso.com")),
            "{text}"
        );
    }
}
