//! An incoming webhook: one JSON POST `{"text": ...}`, the shape Slack and Microsoft Teams
//! incoming webhooks both accept. HTTPS trusts the public web roots (webpki-roots).

use bytes::Bytes;
use http::{header, Request, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use std::sync::Arc;
use std::time::Duration;

/// Time allowed for one webhook call.
pub const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(15);
/// Response bytes read (and then ignored) from the webhook.
const MAX_WEBHOOK_RESPONSE_BYTES: usize = 64 * 1024;

pub struct Webhook {
    uri: Uri,
    tls: Option<tokio_rustls::TlsConnector>,
}

impl Webhook {
    pub fn new(url: &str) -> Result<Webhook, String> {
        let uri: Uri = url
            .parse()
            .map_err(|e| format!("notify.webhook.url: {e}"))?;
        let tls = match uri.scheme_str() {
            Some("http") => None,
            Some("https") => {
                let roots = rustls::RootCertStore {
                    roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
                };
                let provider = Arc::new(rustls::crypto::ring::default_provider());
                let config = rustls::ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .map_err(|e| e.to_string())?
                    .with_root_certificates(roots)
                    .with_no_client_auth();
                Some(tokio_rustls::TlsConnector::from(Arc::new(config)))
            }
            _ => return Err("notify.webhook.url must be http:// or https://".into()),
        };
        if uri.host().is_none() {
            return Err("notify.webhook.url has no host".into());
        }
        Ok(Webhook { uri, tls })
    }

    /// The JSON body sent for one notification.
    pub fn payload(subject: &str, body: &str) -> serde_json::Value {
        serde_json::json!({ "text": format!("*{subject}*\n{body}") })
    }

    pub async fn post(&self, subject: &str, body: &str) -> Result<(), String> {
        tokio::time::timeout(WEBHOOK_TIMEOUT, self.exchange(Self::payload(subject, body)))
            .await
            .map_err(|_| {
                format!(
                    "webhook {} did not answer within {} s",
                    self.uri,
                    WEBHOOK_TIMEOUT.as_secs()
                )
            })?
    }

    async fn exchange(&self, payload: serde_json::Value) -> Result<(), String> {
        let host = self.uri.host().unwrap_or_default();
        let default_port = if self.tls.is_some() { 443 } else { 80 };
        let authority = format!("{host}:{}", self.uri.port_u16().unwrap_or(default_port));
        let tcp = tokio::net::TcpStream::connect(&authority)
            .await
            .map_err(|e| format!("webhook {}: cannot connect: {e}", self.uri))?;
        let request = Request::post(self.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"))
            .header(header::HOST, host)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(payload.to_string())))
            .map_err(|e| e.to_string())?;
        let status = match &self.tls {
            None => send(TokioIo::new(tcp), request).await?,
            Some(tls) => {
                let name = ServerName::try_from(host.to_string()).map_err(|e| e.to_string())?;
                let stream = tls
                    .connect(name, tcp)
                    .await
                    .map_err(|e| format!("webhook {}: TLS: {e}", self.uri))?;
                send(TokioIo::new(stream), request).await?
            }
        };
        if !status.is_success() {
            return Err(format!("webhook {} answered {status}", self.uri));
        }
        Ok(())
    }
}

async fn send<T>(io: T, request: Request<Full<Bytes>>) -> Result<http::StatusCode, String>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let _ = Limited::new(response.into_body(), MAX_WEBHOOK_RESPONSE_BYTES)
        .collect()
        .await;
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_payload_is_the_text_shape_slack_and_teams_accept() {
        let p = Webhook::payload("R-1 approved", "You may run it.");
        assert_eq!(p["text"], "*R-1 approved*\nYou may run it.");
        assert_eq!(p.as_object().map(|o| o.len()), Some(1));
    }

    #[test]
    fn only_http_urls_are_accepted() {
        assert!(Webhook::new("ftp://x/y").is_err());
        assert!(Webhook::new("https://hooks.example/abc").is_ok());
    }
}
