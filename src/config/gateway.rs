//! `[listen]`, `[upstream]`, `[limits]` and `[inspect]`: the data path's settings.

use super::Invalid;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;

/// The client-facing TLS listener.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenConfig {
    /// Address and port to accept TLS connections on.
    pub addr: SocketAddr,
    /// PEM certificate chain presented to clients.
    pub cert: PathBuf,
    /// PEM private key of `cert`.
    pub key: PathBuf,
    /// PEM CA bundle; when set, clients must present a certificate it signed (mTLS).
    #[serde(default)]
    pub client_ca: Option<PathBuf>,
}

impl ListenConfig {
    pub fn validate(&self) -> Result<(), Invalid> {
        Ok(())
    }
}

/// The protected management endpoint.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamConfig {
    /// `http://` or `https://` base URL; its path prefix is kept in front of every request path.
    pub url: String,
    /// PEM CA bundle to trust for an `https` upstream. When set, only this bundle is trusted;
    /// when absent, the Mozilla root set built into the binary is (the host's store never is).
    #[serde(default)]
    pub ca: Option<PathBuf>,
    /// TCP + TLS connect timeout to the upstream.
    #[serde(default = "default_connect_timeout_ms")]
    pub connect_timeout_ms: u64,
    /// Time allowed for the upstream to send response headers. WinRM Receive long-polls for
    /// its OperationTimeout (often 20-180 s), so this is generous by default.
    #[serde(default = "default_response_timeout_ms")]
    pub response_timeout_ms: u64,
}

fn default_connect_timeout_ms() -> u64 {
    5_000
}
fn default_response_timeout_ms() -> u64 {
    300_000
}

impl UpstreamConfig {
    pub fn validate(&self) -> Result<(), Invalid> {
        let ok = self.url.starts_with("http://") || self.url.starts_with("https://");
        if !ok {
            return Err(Invalid::new(
                "upstream.url",
                format!(
                    "{:?} is not an http:// or https:// URL; write e.g. \"https://exchange.contoso.com\"",
                    self.url
                ),
            ));
        }
        let uri = match self.url.parse::<http::Uri>() {
            Ok(uri) => uri,
            Err(e) => {
                return Err(Invalid::new(
                    "upstream.url",
                    format!("{:?} is not a valid URL ({e})", self.url),
                ))
            }
        };
        let Some(authority) = uri.authority() else {
            return Err(Invalid::new(
                "upstream.url",
                format!(
                    "{:?} has no host; write e.g. \"http://127.0.0.1:5985\"",
                    self.url
                ),
            ));
        };
        if authority.as_str().contains('@') {
            return Err(Invalid::new(
                "upstream.url",
                "must not carry user:password@; clients send their own Authorization",
            ));
        }
        if uri.query().is_some() {
            return Err(Invalid::new(
                "upstream.url",
                "must not have a ?query; only a path prefix is kept",
            ));
        }
        if self.connect_timeout_ms == 0 || self.response_timeout_ms == 0 {
            return Err(Invalid::new(
                "upstream.*_timeout_ms",
                "timeouts must be greater than 0",
            ));
        }
        Ok(())
    }
}

/// The highest `limits.max_connections` accepted: far above what one process can serve, and
/// it keeps the connection semaphore well inside its own maximum.
pub const MAX_CONNECTIONS_CEILING: usize = 1_000_000;

/// Transport limits. Every one is enforced and has a test at its edge.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Largest request body accepted; larger gets 413. Bodies on inspected paths are buffered
    /// up to this size, so it bounds memory per request.
    pub max_body_bytes: u64,
    /// Time a client has to finish the TLS handshake, and then to send each complete request
    /// head (also the idle time allowed between keep-alive requests); slower is cut off.
    pub header_read_timeout_ms: u64,
    /// Time a client has to send the complete request body once the head has arrived; slower
    /// gets 408. For streamed bodies this includes time the endpoint takes to accept them.
    pub body_read_timeout_ms: u64,
    /// Concurrent client connections; further connections wait in the accept queue.
    /// At most [`MAX_CONNECTIONS_CEILING`].
    pub max_connections: usize,
    /// Graceful-shutdown wait for requests in flight before connections are dropped.
    pub shutdown_grace_ms: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_body_bytes: 16 * 1024 * 1024,
            header_read_timeout_ms: 30_000,
            body_read_timeout_ms: 60_000,
            max_connections: 10_000,
            shutdown_grace_ms: 10_000,
        }
    }
}

impl LimitsConfig {
    pub fn validate(&self) -> Result<(), Invalid> {
        if self.max_body_bytes == 0 {
            return Err(Invalid::new(
                "limits.max_body_bytes",
                "must be greater than 0",
            ));
        }
        if self.max_connections == 0 || self.max_connections > MAX_CONNECTIONS_CEILING {
            return Err(Invalid::new(
                "limits.max_connections",
                format!("must be between 1 and {MAX_CONNECTIONS_CEILING}"),
            ));
        }
        if self.header_read_timeout_ms == 0 || self.body_read_timeout_ms == 0 {
            return Err(Invalid::new(
                "limits.*_timeout_ms",
                "must be greater than 0",
            ));
        }
        Ok(())
    }
}

/// Inspection limits: the attacker controls every byte being parsed, so each dimension is capped.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InspectLimits {
    /// Largest decoded PSRP message (after base64 and reassembly).
    pub max_message_bytes: usize,
    /// Fragment bytes held per shell while waiting for a message's last fragment.
    pub max_pending_bytes_per_shell: usize,
    /// Incomplete messages held per shell.
    pub max_pending_messages_per_shell: usize,
    /// How long an incomplete message may wait for its next fragment.
    pub reassembly_timeout_ms: u64,
    /// Shells tracked at once (each holds reassembly state and its owner).
    pub max_shells: usize,
    /// XML element nesting depth (SOAP and CLIXML).
    pub max_xml_depth: usize,
    /// Attributes on one XML element.
    pub max_xml_attributes: usize,
    /// CLIXML values (objects and primitives) in one message.
    pub max_clixml_objects: usize,
    /// `<Ref>` elements in one CLIXML message.
    pub max_clixml_refs: usize,
    /// Statements times commands in one invocation (CLIXML or REST `$batch`).
    pub max_commands: usize,
}

impl Default for InspectLimits {
    fn default() -> Self {
        InspectLimits {
            max_message_bytes: 16 * 1024 * 1024,
            max_pending_bytes_per_shell: 32 * 1024 * 1024,
            max_pending_messages_per_shell: 64,
            reassembly_timeout_ms: 300_000,
            max_shells: 10_000,
            max_xml_depth: 64,
            max_xml_attributes: 32,
            max_clixml_objects: 100_000,
            max_clixml_refs: 100_000,
            max_commands: 1_000,
        }
    }
}

impl InspectLimits {
    pub fn validate(&self) -> Result<(), Invalid> {
        let zero = [
            ("inspect.max_message_bytes", self.max_message_bytes == 0),
            ("inspect.max_xml_depth", self.max_xml_depth == 0),
            ("inspect.max_clixml_objects", self.max_clixml_objects == 0),
            ("inspect.max_commands", self.max_commands == 0),
            ("inspect.max_shells", self.max_shells == 0),
        ];
        for (key, is_zero) in zero {
            if is_zero {
                return Err(Invalid::new(key, "must be greater than 0"));
            }
        }
        Ok(())
    }
}
