//! One keep-alive HTTP/1.1 connection to the target, plain or TLS (trusting the dev CA).

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

/// Where to connect and how: parsed once, shared by every connection.
#[derive(Clone)]
pub struct Target {
    /// `host:port` to dial.
    pub addr: String,
    /// The request path (`/wsman`), kept with its query.
    pub path: String,
    /// `Host` header value.
    pub authority: String,
    /// `None` for `http://`.
    tls: Option<(TlsConnector, ServerName<'static>)>,
}

/// The TLS options every subcommand shares.
#[derive(clap::Args, Clone)]
pub struct TlsArgs {
    /// PEM CA certificate to trust (the dev CA from `runspace-gateway certs`).
    #[arg(long)]
    pub ca: Option<PathBuf>,
    /// Name to verify in the server certificate; defaults to the URL's host.
    #[arg(long)]
    pub server_name: Option<String>,
}

impl Target {
    pub fn parse(url: &str, tls: &TlsArgs) -> Result<Target, String> {
        let uri: http::Uri = url.parse().map_err(|e| format!("--url {url:?}: {e}"))?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(format!("--url {url:?}: use http:// or https://")),
        };
        let host = uri
            .host()
            .ok_or_else(|| format!("--url {url:?}: no host"))?;
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
        let tls = if https {
            Some(connector(host, tls)?)
        } else {
            None
        };
        Ok(Target {
            addr: format!("{host}:{port}"),
            path,
            authority: format!("{host}:{port}"),
            tls,
        })
    }

    async fn tcp(&self) -> Result<TcpStream, String> {
        let tcp = TcpStream::connect(&self.addr)
            .await
            .map_err(|e| format!("connect {}: {e}", self.addr))?;
        tcp.set_nodelay(true).map_err(|e| format!("nodelay: {e}"))?;
        Ok(tcp)
    }

    /// A finished TLS handshake and nothing else (for `hold`).
    pub async fn tls_only(&self) -> Result<TlsStream<TcpStream>, String> {
        let (connector, name) = self
            .tls
            .as_ref()
            .ok_or("hold needs an https:// URL: it measures idle TLS connections")?;
        let tcp = self.tcp().await?;
        connector
            .connect(name.clone(), tcp)
            .await
            .map_err(|e| format!("TLS handshake with {}: {e}", self.addr))
    }

    /// An HTTP/1.1 keep-alive connection whose driver runs on its own task.
    pub async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, String> {
        let tcp = self.tcp().await?;
        let sender = match &self.tls {
            Some(_) => handshake(self.tls_from(tcp).await?).await?,
            None => handshake(tcp).await?,
        };
        Ok(sender)
    }

    async fn tls_from(&self, tcp: TcpStream) -> Result<TlsStream<TcpStream>, String> {
        let (connector, name) = self.tls.as_ref().ok_or("not a TLS target")?;
        connector
            .connect(name.clone(), tcp)
            .await
            .map_err(|e| format!("TLS handshake with {}: {e}", self.addr))
    }
}

async fn handshake<S>(io: S) -> Result<SendRequest<Full<Bytes>>, String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, driver) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| format!("HTTP/1.1 handshake: {e}"))?;
    tokio::spawn(driver);
    Ok(sender)
}

fn connector(host: &str, args: &TlsArgs) -> Result<(TlsConnector, ServerName<'static>), String> {
    let ca = args
        .ca
        .as_ref()
        .ok_or("an https:// URL needs --ca (the dev CA certificate)")?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).map_err(|e| format!("--ca {ca:?}: {e}"))? {
        let cert = cert.map_err(|e| format!("--ca {ca:?}: {e}"))?;
        roots
            .add(cert)
            .map_err(|e| format!("--ca {ca:?}: not a usable CA certificate: {e}"))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS config: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = args.server_name.clone().unwrap_or_else(|| host.to_string());
    let name =
        ServerName::try_from(name.clone()).map_err(|e| format!("server name {name:?}: {e}"))?;
    Ok((TlsConnector::from(Arc::new(config)), name))
}

/// POST a SOAP body; return the status and the whole response body.
pub async fn post(
    sender: &mut SendRequest<Full<Bytes>>,
    target: &Target,
    authorization: &str,
    body: String,
) -> Result<(http::StatusCode, Bytes), String> {
    sender
        .ready()
        .await
        .map_err(|e| format!("connection: {e}"))?;
    let request = http::Request::post(target.path.as_str())
        .header(http::header::HOST, target.authority.as_str())
        .header(
            http::header::CONTENT_TYPE,
            "application/soap+xml;charset=UTF-8",
        )
        .header(http::header::AUTHORIZATION, authorization)
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| format!("request: {e}"))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("send: {e}"))?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("response body: {e}"))?
        .to_bytes();
    Ok((status, body))
}
