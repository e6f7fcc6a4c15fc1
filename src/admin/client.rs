//! The admin API client used by the CLI: HTTPS (hyper + tokio-rustls) trusting only the CA the
//! user gives, a bearer token, JSON in and out, and errors that say what to check.

use bytes::Bytes;
use http::{header, Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use rustls::pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer, ServerName};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Largest response accepted from the admin API.
pub const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;
/// Time allowed to connect and finish the TLS handshake.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Time allowed for the whole exchange once connected.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

pub struct AdminClient {
    base: Uri,
    authority: String,
    server_name: ServerName<'static>,
    token: String,
    connector: tokio_rustls::TlsConnector,
}

/// The API's answer: status and JSON body.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub body: serde_json::Value,
}

impl Answer {
    /// The server's error message, when it sent one in the standard shape.
    pub fn error_message(&self) -> String {
        let e = &self.body["error"];
        let message = e["message"].as_str().unwrap_or("(no message)");
        match e["field"].as_str() {
            Some(f) => format!("{message} [field: {f}] ({})", self.status),
            None => format!("{message} ({})", self.status),
        }
    }
}

impl AdminClient {
    /// `url` must be `https://host:port`; `ca` is the PEM CA that signed the admin certificate.
    pub fn new(url: &str, token: &str, ca: &Path) -> Result<AdminClient, String> {
        AdminClient::with_identity(url, token, ca, None)
    }

    /// Like [`AdminClient::new`], also presenting a client certificate (PEM chain, PEM key)
    /// for an admin listener with `[admin] client_ca`.
    pub fn with_identity(
        url: &str,
        token: &str,
        ca: &Path,
        identity: Option<(&Path, &Path)>,
    ) -> Result<AdminClient, String> {
        let base: Uri = url
            .trim_end_matches('/')
            .parse()
            .map_err(|e| format!("--admin {url:?} is not a URL: {e}"))?;
        if base.scheme_str() != Some("https") {
            return Err(format!(
                "--admin {url:?} must be an https:// URL (the admin API only speaks TLS)"
            ));
        }
        let host = base
            .host()
            .ok_or_else(|| format!("--admin {url:?} has no host"))?;
        let authority = format!("{}:{}", host, base.port_u16().unwrap_or(443));
        let server_name = ServerName::try_from(host.trim_matches(['[', ']']).to_string())
            .map_err(|e| format!("--admin {url:?}: {e}"))?;
        let mut roots = rustls::RootCertStore::empty();
        let certs =
            CertificateDer::pem_file_iter(ca).map_err(|e| format!("--ca {}: {e}", ca.display()))?;
        for cert in certs {
            let cert =
                cert.map_err(|e| format!("--ca {}: not a PEM certificate: {e}", ca.display()))?;
            roots
                .add(cert)
                .map_err(|e| format!("--ca {}: {e}", ca.display()))?;
        }
        if roots.is_empty() {
            return Err(format!("--ca {} holds no certificate", ca.display()));
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots);
        let config = match identity {
            None => config.with_no_client_auth(),
            Some((cert, key)) => {
                let chain = CertificateDer::pem_file_iter(cert)
                    .and_then(|i| i.collect::<Result<Vec<_>, _>>())
                    .map_err(|e| format!("client certificate {}: {e}", cert.display()))?;
                let key = PrivateKeyDer::from_pem_file(key)
                    .map_err(|e| format!("client key {}: {e}", key.display()))?;
                config
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| format!("client certificate {}: {e}", cert.display()))?
            }
        };
        Ok(AdminClient {
            base,
            authority,
            server_name,
            token: token.to_string(),
            connector: tokio_rustls::TlsConnector::from(Arc::new(config)),
        })
    }

    /// Send one JSON request; `Err` only when no HTTP answer came back.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<Answer, String> {
        let payload = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
        self.send(method, path, "application/json", payload).await
    }

    /// Send any body with any content type (tests of the server's refusals use this).
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        content_type: &str,
        body: Bytes,
    ) -> Result<Answer, String> {
        tokio::time::timeout(
            REQUEST_TIMEOUT,
            self.exchange(method, path, content_type, body),
        )
        .await
        .map_err(|_| {
            format!(
                "{} did not answer within {} s",
                self.base,
                REQUEST_TIMEOUT.as_secs()
            )
        })?
    }

    async fn connect(
        &self,
    ) -> Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>, String> {
        let url = &self.base;
        let tcp = tokio::net::TcpStream::connect(&self.authority)
            .await
            .map_err(|e| format!("cannot connect to {url}: {e}; is the gateway running, and is --admin (RUNSPACE_GATEWAY_ADMIN) its [admin] addr?"))?;
        self.connector
            .connect(self.server_name.clone(), tcp)
            .await
            .map_err(|e| format!("TLS with {url} failed: {e}; check that --ca is the CA that signed the admin certificate and that the URL's host name is in it"))
    }

    async fn exchange(
        &self,
        method: Method,
        path: &str,
        content_type: &str,
        body: Bytes,
    ) -> Result<Answer, String> {
        let url = &self.base;
        let tls = tokio::time::timeout(CONNECT_TIMEOUT, self.connect())
            .await
            .map_err(|_| {
                format!(
                    "connecting to {url} timed out after {} s",
                    CONNECT_TIMEOUT.as_secs()
                )
            })??;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| format!("HTTP with {url} failed: {e}"))?;
        tokio::spawn(conn);
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, &self.authority)
            .header(header::CONTENT_TYPE, content_type);
        if !self.token.is_empty() {
            request = request.header(header::AUTHORIZATION, format!("Bearer {}", self.token));
        }
        let request = request
            .body(Full::new(body))
            .map_err(|e| format!("cannot build the request for {path}: {e}"))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| format!("{url} closed the connection: {e}"))?;
        let status = response.status();
        let bytes = Limited::new(response.into_body(), MAX_RESPONSE_BYTES)
            .collect()
            .await
            .map_err(|e| format!("reading the answer from {url} failed: {e}"))?
            .to_bytes();
        let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
            serde_json::Value::String(String::from_utf8_lossy(&bytes).into_owned())
        });
        Ok(Answer { status, body })
    }
}
