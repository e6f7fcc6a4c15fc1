//! The protected endpoint: where requests go, and the one connection each client gets to it.
//!
//! WinRM authentication (Negotiate, NTLM, Kerberos) can be bound to the TCP connection, so two
//! clients must never share an upstream connection. Each client connection owns an
//! [`UpstreamSlot`]: one upstream connection, opened on first use, reused for that client's
//! requests, and reopened if the endpoint closed it.

use super::body::ForwardBody;
use super::tls;
use super::StartError;
use crate::config::UpstreamConfig;
use http::uri::{PathAndQuery, Uri};
use http::HeaderValue;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use rustls_pki_types::ServerName;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::Mutex;
use tokio::time::timeout;
use tokio_rustls::TlsConnector;

/// Where and how to reach the endpoint; built once from `[upstream]`.
pub struct Upstream {
    /// The URL as configured, for error messages.
    url: String,
    /// `host:port` to connect to.
    connect_to: String,
    /// The `Host` header the endpoint expects.
    host: HeaderValue,
    /// The URL's path without its trailing `/`, put in front of every request path.
    prefix: String,
    /// TLS towards an `https` endpoint.
    tls: Option<(TlsConnector, ServerName<'static>)>,
    connect_timeout: Duration,
    response_timeout: Duration,
}

/// Why a request could not be forwarded. Maps to 502 (endpoint failed) or 504 (endpoint slow).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ForwardError {
    #[error("could not connect to the endpoint {url}: {source}")]
    Connect { url: String, source: std::io::Error },
    #[error("the endpoint {url} did not accept a connection within {ms} ms")]
    ConnectTimeout { url: String, ms: u128 },
    #[error("TLS handshake with the endpoint {url} failed: {source}")]
    Tls { url: String, source: std::io::Error },
    #[error("the endpoint {url} did not answer within {ms} ms")]
    ResponseTimeout { url: String, ms: u128 },
    #[error("the endpoint {url} broke off the exchange: {source}")]
    Exchange { url: String, source: hyper::Error },
}

impl Upstream {
    /// Resolve `[upstream]` into a target; the URL was validated when the config was loaded.
    pub fn from_config(config: &UpstreamConfig) -> Result<Upstream, StartError> {
        let invalid = |message: &str| StartError::Upstream {
            url: config.url.clone(),
            message: message.to_string(),
        };
        let uri: Uri = config.url.parse().map_err(|_| invalid("not a valid URL"))?;
        let https = uri.scheme_str() == Some("https");
        let authority = uri.authority().ok_or_else(|| invalid("no host"))?;
        let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
        let host_name = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        let tls = if https {
            let name = ServerName::try_from(host_name.to_string())
                .map_err(|_| invalid("the host is not a valid TLS server name"))?;
            let connector = TlsConnector::from(tls::upstream_config(config.ca.as_deref())?);
            Some((connector, name))
        } else {
            None
        };
        Ok(Upstream {
            url: config.url.clone(),
            connect_to: format!("{}:{port}", authority.host()),
            host: HeaderValue::from_str(authority.as_str())
                .map_err(|_| invalid("the host is not a valid Host header"))?,
            prefix: uri.path().trim_end_matches('/').to_string(),
            tls,
            connect_timeout: Duration::from_millis(config.connect_timeout_ms),
            response_timeout: Duration::from_millis(config.response_timeout_ms),
        })
    }

    /// The `Host` header value to send.
    pub fn host(&self) -> &HeaderValue {
        &self.host
    }

    /// The origin-form target for a client's path and query: the URL's prefix kept in front.
    pub fn target(&self, path_and_query: &PathAndQuery) -> Option<Uri> {
        let joined = format!("{}{}", self.prefix, path_and_query.as_str());
        joined.parse().ok()
    }

    async fn connect(&self) -> Result<SendRequest<ForwardBody>, ForwardError> {
        let ms = self.connect_timeout.as_millis();
        let tcp = timeout(self.connect_timeout, TcpStream::connect(&self.connect_to))
            .await
            .map_err(|_| ForwardError::ConnectTimeout {
                url: self.url.clone(),
                ms,
            })?
            .map_err(|source| ForwardError::Connect {
                url: self.url.clone(),
                source,
            })?;
        let _ = tcp.set_nodelay(true);
        let Some((connector, name)) = &self.tls else {
            return self.handshake(tcp).await;
        };
        let stream = timeout(self.connect_timeout, connector.connect(name.clone(), tcp))
            .await
            .map_err(|_| ForwardError::ConnectTimeout {
                url: self.url.clone(),
                ms,
            })?
            .map_err(|source| ForwardError::Tls {
                url: self.url.clone(),
                source,
            })?;
        self.handshake(stream).await
    }

    async fn handshake<T>(&self, io: T) -> Result<SendRequest<ForwardBody>, ForwardError>
    where
        T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (sender, connection) = http1::Builder::new()
            .preserve_header_case(true)
            .handshake(TokioIo::new(io))
            .await
            .map_err(|source| self.exchange_error(source))?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "upstream connection ended");
            }
        });
        Ok(sender)
    }

    fn exchange_error(&self, source: hyper::Error) -> ForwardError {
        ForwardError::Exchange {
            url: self.url.clone(),
            source,
        }
    }
}

/// One client connection's connection to the endpoint (see the module docs).
#[derive(Default)]
pub struct UpstreamSlot {
    sender: Mutex<Option<SendRequest<ForwardBody>>>,
}

impl UpstreamSlot {
    /// Send one request and wait (bounded) for the response head; the body streams after.
    pub async fn send(
        &self,
        upstream: &Upstream,
        request: http::Request<ForwardBody>,
    ) -> Result<http::Response<Incoming>, ForwardError> {
        let mut slot = self.sender.lock().await;
        let reusable = match slot.as_mut() {
            Some(sender) if !sender.is_closed() => {
                matches!(
                    timeout(upstream.connect_timeout, sender.ready()).await,
                    Ok(Ok(()))
                )
            }
            _ => false,
        };
        if !reusable {
            *slot = None;
            *slot = Some(upstream.connect().await?);
        }
        let Some(sender) = slot.as_mut() else {
            return Err(ForwardError::Connect {
                url: upstream.url.clone(),
                source: std::io::Error::other("no connection"),
            });
        };
        let result = timeout(upstream.response_timeout, sender.send_request(request)).await;
        match result {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(source)) => {
                *slot = None;
                Err(upstream.exchange_error(source))
            }
            Err(_) => {
                *slot = None;
                Err(ForwardError::ResponseTimeout {
                    url: upstream.url.clone(),
                    ms: upstream.response_timeout.as_millis(),
                })
            }
        }
    }
}

/// How much of a discarded answer is kept for the log line; the rest is read and dropped.
pub const DISCARDED_LOGGED_BYTES: usize = 512;

/// What the endpoint answered to a request whose answer nobody waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discarded {
    pub status: u16,
    /// The body's length in bytes.
    pub len: u64,
    /// The body's first [`DISCARDED_LOGGED_BYTES`], for the log.
    pub head: String,
}

impl UpstreamSlot {
    /// Send a request and read its answer to the end (so the connection can carry the client's
    /// next request), keeping only its status and first bytes. The whole exchange is bounded
    /// by `[upstream] response_timeout_ms` for the head and again for the body.
    pub async fn send_discarding(
        &self,
        upstream: &Upstream,
        request: http::Request<ForwardBody>,
    ) -> Result<Discarded, ForwardError> {
        let response = self.send(upstream, request).await?;
        let status = response.status().as_u16();
        let mut body = response.into_body();
        let mut kept = Vec::new();
        let mut len = 0u64;
        let drain = async {
            while let Some(frame) = body.frame().await {
                let Ok(data) = frame?.into_data() else {
                    continue;
                };
                len += data.len() as u64;
                let room = DISCARDED_LOGGED_BYTES.saturating_sub(kept.len());
                kept.extend_from_slice(data.get(..room.min(data.len())).unwrap_or_default());
            }
            Ok::<(), hyper::Error>(())
        };
        match timeout(upstream.response_timeout, drain).await {
            Ok(Ok(())) => Ok(Discarded {
                status,
                len,
                head: String::from_utf8_lossy(&kept).into_owned(),
            }),
            Ok(Err(source)) => Err(upstream.exchange_error(source)),
            Err(_) => Err(ForwardError::ResponseTimeout {
                url: upstream.url.clone(),
                ms: upstream.response_timeout.as_millis(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upstream(url: &str) -> Upstream {
        let config: UpstreamConfig = toml::from_str(&format!("url = {url:?}")).unwrap();
        Upstream::from_config(&config).unwrap()
    }

    #[test]
    fn the_url_path_prefix_is_kept_in_front_of_the_request_path() {
        let u = upstream("http://127.0.0.1:5985/base/");
        let target = u.target(&"/wsman?PSVersion=7".parse().unwrap()).unwrap();
        assert_eq!(target.to_string(), "/base/wsman?PSVersion=7");
        assert_eq!(u.host(), "127.0.0.1:5985");
        assert_eq!(u.connect_to, "127.0.0.1:5985");
    }

    #[test]
    fn default_ports_follow_the_scheme() {
        let u = upstream("https://outlook.office365.com");
        assert_eq!(u.connect_to, "outlook.office365.com:443");
        assert_eq!(u.host(), "outlook.office365.com");
        assert_eq!(
            u.target(&"/adminapi/beta".parse().unwrap()).unwrap(),
            "/adminapi/beta"
        );
        assert!(u.tls.is_some());
        assert_eq!(upstream("http://h").connect_to, "h:80");
    }
}
