//! Shared harness for the integration tests: dev certificates in a temp dir, the real gateway
//! binary started on port 0, a TLS client (hyper or raw bytes), and a small upstream endpoint.
//!
//! Typical use:
//!
//! ```ignore
//! let certs = Certs::new();
//! let upstream = Upstream::start(echo).await;
//! let gateway = Gateway::start(&GatewayConfig::new(&certs, &upstream.url).text());
//! let mut client = HttpClient::connect(gateway.addr, &certs.client_config()).await.unwrap();
//! let response = client.send(request("GET", "/wsman", Bytes::new())).await.unwrap();
//! ```
//!
//! Every wait here has a deadline ([`WAIT`]) so a broken gateway fails a test instead of
//! hanging it. Not every test file uses every helper.
#![allow(dead_code)]

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use runspace_gateway::certs::{ensure_dev_certs, DevCerts};
use std::future::Future;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

/// The longest any harness step waits (gateway start, a response, an exit).
pub const WAIT: Duration = Duration::from_secs(30);

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// The request body type the test client sends.
pub type ClientBody = UnsyncBoxBody<Bytes, BoxError>;

/// A fresh set of dev certificates (CA, server for localhost/127.0.0.1, client
/// `admin@contoso.com`) in a temp dir that lives as long as this value.
pub struct Certs {
    pub dir: tempfile::TempDir,
    pub paths: DevCerts,
}

impl Certs {
    pub fn new() -> Certs {
        let dir = tempfile::tempdir().expect("temp dir");
        let paths = ensure_dev_certs(dir.path(), &[]).expect("dev certificates");
        Certs { dir, paths }
    }

    /// A client trusting the dev CA, without a client certificate.
    pub fn client_config(&self) -> Arc<rustls::ClientConfig> {
        self.client_config_with(false, None)
    }

    /// A client trusting the dev CA; with the dev client certificate when `mtls`; limited to
    /// the given protocol versions when `versions` is set.
    pub fn client_config_with(
        &self,
        mtls: bool,
        versions: Option<&[&'static rustls::SupportedProtocolVersion]>,
    ) -> Arc<rustls::ClientConfig> {
        use rustls_pki_types::pem::PemObject;
        use rustls_pki_types::{CertificateDer, PrivateKeyDer};
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(&self.paths.ca_cert).unwrap() {
            roots.add(cert.unwrap()).unwrap();
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(versions.unwrap_or(rustls::ALL_VERSIONS))
            .unwrap()
            .with_root_certificates(roots);
        let mut config = if mtls {
            let chain = CertificateDer::pem_file_iter(&self.paths.client_cert)
                .unwrap()
                .map(|c| c.unwrap())
                .collect();
            let key = PrivateKeyDer::from_pem_file(&self.paths.client_key).unwrap();
            builder.with_client_auth_cert(chain, key).unwrap()
        } else {
            builder.with_no_client_auth()
        };
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Arc::new(config)
    }
}

/// The text of a gateway config: `[listen]` on 127.0.0.1:0 with the dev certificates, the
/// given upstream URL, plus whatever extra lines each section needs.
pub struct GatewayConfig {
    pub listen: String,
    pub upstream: String,
    /// Whole extra sections (`[limits]`, `[pam]`, ...), appended as is.
    pub sections: String,
}

impl GatewayConfig {
    pub fn new(certs: &Certs, upstream_url: &str) -> GatewayConfig {
        GatewayConfig {
            listen: format!(
                "addr = \"127.0.0.1:0\"\ncert = {:?}\nkey = {:?}\n",
                certs.paths.server_cert, certs.paths.server_key
            ),
            upstream: format!("url = {upstream_url:?}\n"),
            sections: String::new(),
        }
    }

    /// Require client certificates signed by the dev CA.
    pub fn mtls(mut self, certs: &Certs) -> Self {
        self.listen += &format!("client_ca = {:?}\n", certs.paths.ca_cert);
        self
    }

    /// Add a `[limits]` section with these `key = value` lines.
    pub fn limits(mut self, lines: &str) -> Self {
        self.sections += &format!("\n[limits]\n{lines}\n");
        self
    }

    /// Add lines to `[upstream]`.
    pub fn upstream_lines(mut self, lines: &str) -> Self {
        self.upstream += lines;
        self.upstream += "\n";
        self
    }

    pub fn text(&self) -> String {
        format!(
            "[listen]\n{}\n[upstream]\n{}\n{}",
            self.listen, self.upstream, self.sections
        )
    }
}

/// The real `runspace-gateway serve` process, killed on drop.
pub struct Gateway {
    child: Child,
    /// The address from its `listening on ADDR` line.
    pub addr: SocketAddr,
    dir: tempfile::TempDir,
    stderr_path: PathBuf,
}

/// Start `runspace-gateway` with `args` (the config path is appended as `--config FILE` for
/// `serve`); stdout is read line by line, stderr goes to a file.
fn spawn(
    dir: &tempfile::TempDir,
    args: &[&str],
) -> (Child, PathBuf, std::sync::mpsc::Receiver<String>) {
    let stderr_path = dir.path().join("stderr.log");
    let stderr = std::fs::File::create(&stderr_path).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_runspace-gateway"))
        .args(args)
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("start runspace-gateway");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, stderr_path, rx)
}

impl Gateway {
    /// Write `config` to a temp file, run `serve --config FILE`, and wait for the
    /// `listening on` line. Panics with the gateway's stderr if it does not come.
    pub fn start(config: &str) -> Gateway {
        let dir = tempfile::tempdir().unwrap();
        let config_path = dir.path().join("gateway.toml");
        std::fs::write(&config_path, config).unwrap();
        let (mut child, stderr_path, lines) =
            spawn(&dir, &["serve", "--config", config_path.to_str().unwrap()]);
        let deadline = Instant::now() + WAIT;
        let addr = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines.recv_timeout(left) {
                Ok(line) => {
                    if let Some(addr) = line.strip_prefix("listening on ") {
                        break addr.trim().parse().expect("address in the listening line");
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    panic!(
                        "gateway did not print `listening on`; stderr:\n{}",
                        std::fs::read_to_string(&stderr_path).unwrap_or_default()
                    );
                }
            }
        };
        Gateway {
            child,
            addr,
            dir,
            stderr_path,
        }
    }

    /// Run `serve` with a config that must fail to start: its exit status and stderr.
    pub fn start_expecting_failure(config: &str) -> (ExitStatus, String) {
        let dir = tempfile::tempdir().unwrap();
        let config_path = dir.path().join("gateway.toml");
        std::fs::write(&config_path, config).unwrap();
        let (mut child, stderr_path, _lines) =
            spawn(&dir, &["serve", "--config", config_path.to_str().unwrap()]);
        let status = wait_exit(&mut child).expect("gateway should have exited");
        (
            status,
            std::fs::read_to_string(stderr_path).unwrap_or_default(),
        )
    }

    /// Send SIGTERM (through `kill`, so the tests need no unsafe code).
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
    }

    /// Wait (at most [`WAIT`]) for the process to exit.
    pub fn wait_exit(&mut self) -> Option<ExitStatus> {
        wait_exit(&mut self.child)
    }

    /// Everything the gateway logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// Wait until the log contains `needle` (at most [`WAIT`]).
    pub async fn wait_for_log(&self, needle: &str) {
        let deadline = Instant::now() + WAIT;
        while !self.log().contains(needle) {
            assert!(
                Instant::now() < deadline,
                "log never showed {needle:?}:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn wait_exit(child: &mut Child) -> Option<ExitStatus> {
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Open a TLS connection to the gateway, verifying it as `localhost`.
pub async fn tls_connect(
    addr: SocketAddr,
    config: &Arc<rustls::ClientConfig>,
) -> std::io::Result<TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(addr).await?;
    let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
    TlsConnector::from(config.clone()).connect(name, tcp).await
}

/// A hyper HTTP/1.1 client on one TLS connection (requests reuse it, like a WinRM client).
pub struct HttpClient {
    sender: hyper::client::conn::http1::SendRequest<ClientBody>,
}

impl HttpClient {
    pub async fn connect(
        addr: SocketAddr,
        config: &Arc<rustls::ClientConfig>,
    ) -> Result<HttpClient, BoxError> {
        let tls = tls_connect(addr, config).await?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls)).await?;
        tokio::spawn(connection);
        Ok(HttpClient { sender })
    }

    /// Send one request; the response body is read completely.
    pub async fn send(
        &mut self,
        request: Request<ClientBody>,
    ) -> Result<Response<Bytes>, BoxError> {
        tokio::time::timeout(WAIT, async {
            self.sender.ready().await?;
            let response = self.sender.send_request(request).await?;
            let (parts, body) = response.into_parts();
            let body = body.collect().await?.to_bytes();
            Ok(Response::from_parts(parts, body))
        })
        .await
        .map_err(|_| "no response in time")?
    }

    /// Send one request; return the response with its body still streaming.
    pub async fn send_streaming(
        &mut self,
        request: Request<ClientBody>,
    ) -> Result<Response<Incoming>, BoxError> {
        self.sender.ready().await?;
        Ok(self.sender.send_request(request).await?)
    }
}

/// A request with a fixed body and `Host: localhost`.
pub fn request(method: &str, uri: &str, body: impl Into<Bytes>) -> Request<ClientBody> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "localhost")
        .body(full(body))
        .unwrap()
}

/// A fixed body of the client body type.
pub fn full(body: impl Into<Bytes>) -> ClientBody {
    Full::new(body.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// What a raw exchange got back: the bytes and whether the gateway closed the connection.
pub struct RawReply {
    pub bytes: Vec<u8>,
    pub closed: bool,
}

impl RawReply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    /// The status code of the first response, if one arrived.
    pub fn status(&self) -> Option<u16> {
        let text = self.text();
        text.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
    }

    /// The status codes of every response in the reply, in order.
    pub fn statuses(&self) -> Vec<u16> {
        self.text()
            .match_indices("HTTP/1.1 ")
            .filter_map(|(i, _)| self.text().get(i + 9..i + 12)?.parse().ok())
            .collect()
    }
}

/// Write `bytes` on a fresh TLS connection, then read until the gateway closes it or `idle`
/// passes without data.
pub async fn raw_exchange(
    addr: SocketAddr,
    config: &Arc<rustls::ClientConfig>,
    bytes: &[u8],
    idle: Duration,
) -> RawReply {
    let mut tls = tls_connect(addr, config).await.expect("TLS connect");
    tls.write_all(bytes).await.expect("write request");
    tls.flush().await.unwrap();
    read_reply(&mut tls, idle).await
}

/// Read until EOF (or a reset: `closed`) or until `idle` passes without data (not closed).
pub async fn read_reply<S: tokio::io::AsyncRead + Unpin>(
    stream: &mut S,
    idle: Duration,
) -> RawReply {
    let mut bytes = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        match tokio::time::timeout(idle, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                return RawReply {
                    bytes,
                    closed: true,
                }
            }
            Ok(Ok(n)) => bytes.extend_from_slice(&buf[..n]),
            Err(_) => {
                return RawReply {
                    bytes,
                    closed: false,
                }
            }
        }
    }
}

/// One request as the upstream saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: http::Method,
    pub uri: http::Uri,
    pub headers: http::HeaderMap,
    pub body: Bytes,
    /// The gateway-side address of the upstream connection it came on.
    pub peer: SocketAddr,
}

/// A small HTTP/1.1 endpoint on 127.0.0.1:0. Every request is read completely, reported on
/// [`Upstream::seen`], then answered by the handler.
pub struct Upstream {
    pub addr: SocketAddr,
    /// `http://ADDR`, for `[upstream] url`.
    pub url: String,
    pub seen: mpsc::UnboundedReceiver<Seen>,
    task: tokio::task::JoinHandle<()>,
}

impl Upstream {
    pub async fn start<F, Fut>(handler: F) -> Upstream
    where
        F: Fn(Seen) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Response<Full<Bytes>>> + Send + 'static,
    {
        Upstream::start_with(None, handler).await
    }

    /// The same endpoint over TLS with the dev server certificate (`https://localhost:PORT`).
    pub async fn start_tls<F, Fut>(certs: &Certs, handler: F) -> Upstream
    where
        F: Fn(Seen) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Response<Full<Bytes>>> + Send + 'static,
    {
        let listen = runspace_gateway::config::ListenConfig {
            addr: "127.0.0.1:0".parse().unwrap(),
            cert: certs.paths.server_cert.clone(),
            key: certs.paths.server_key.clone(),
            client_ca: None,
        };
        let tls = runspace_gateway::proxy::tls::server_config(&listen).unwrap();
        let mut upstream = Upstream::start_with(Some(tls.into()), handler).await;
        upstream.url = format!("https://localhost:{}", upstream.addr.port());
        upstream
    }

    async fn start_with<F, Fut>(tls: Option<tokio_rustls::TlsAcceptor>, handler: F) -> Upstream
    where
        F: Fn(Seen) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Response<Full<Bytes>>> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, seen) = mpsc::unbounded_channel();
        let handler = Arc::new(handler);
        let task = tokio::spawn(async move {
            while let Ok((tcp, peer)) = listener.accept().await {
                let (tx, handler, tls) = (tx.clone(), handler.clone(), tls.clone());
                let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let (tx, handler) = (tx.clone(), handler.clone());
                    async move {
                        let (parts, body) = req.into_parts();
                        let body = body.collect().await?.to_bytes();
                        let seen = Seen {
                            method: parts.method,
                            uri: parts.uri,
                            headers: parts.headers,
                            body,
                            peer,
                        };
                        let _ = tx.send(seen.clone());
                        Ok::<_, hyper::Error>(handler(seen).await)
                    }
                });
                tokio::spawn(async move {
                    let http = hyper::server::conn::http1::Builder::new();
                    match tls {
                        None => {
                            let _ = http.serve_connection(TokioIo::new(tcp), service).await;
                        }
                        Some(acceptor) => {
                            if let Ok(stream) = acceptor.accept(tcp).await {
                                let _ = http.serve_connection(TokioIo::new(stream), service).await;
                            }
                        }
                    }
                });
            }
        });
        Upstream {
            addr,
            url: format!("http://{addr}"),
            seen,
            task,
        }
    }

    /// The next request the upstream saw (panics after [`WAIT`]).
    pub async fn next_seen(&mut self) -> Seen {
        tokio::time::timeout(WAIT, self.seen.recv())
            .await
            .expect("upstream saw no request in time")
            .expect("upstream stopped")
    }

    /// Whether no request has reached the upstream so far.
    pub fn saw_nothing(&mut self) -> bool {
        self.seen.try_recv().is_err()
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A handler answering 200 with `ok` and no special headers.
pub async fn ok(_seen: Seen) -> Response<Full<Bytes>> {
    Response::new(Full::new(Bytes::from_static(b"ok")))
}

/// An address where nothing listens (bound, then released).
pub async fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}
