//! `[store]`, `[workflow]`, `[admin]`, `[users]` and `[notify]`: the control path's settings.

use super::Invalid;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// The SQLite database file.
    pub path: PathBuf,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            path: PathBuf::from("data/gateway.db"),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkflowConfig {
    /// A pending request expires after this many hours.
    pub pending_expiry_hours: u32,
    /// Hours granted when a request does not say.
    pub default_hours: u32,
    /// Refuse requests without a reason.
    pub require_reason: bool,
    /// A group from `[groups]` whose members may create and remove policies and revoke any
    /// grant. Unset: every admin-API principal may manage policies.
    pub policy_admins: Option<String>,
}

impl Default for WorkflowConfig {
    fn default() -> Self {
        WorkflowConfig {
            pending_expiry_hours: 24,
            default_hours: 4,
            require_reason: true,
            policy_admins: None,
        }
    }
}

impl WorkflowConfig {
    pub fn validate(&self) -> Result<(), Invalid> {
        if self.pending_expiry_hours == 0 {
            return Err(Invalid::new(
                "workflow.pending_expiry_hours",
                "must be at least 1",
            ));
        }
        if self.default_hours == 0 {
            return Err(Invalid::new("workflow.default_hours", "must be at least 1"));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    /// HTTPS listener of the admin API.
    pub addr: SocketAddr,
    /// Certificate and key; the `[listen]` pair is used when absent.
    #[serde(default)]
    pub cert: Option<PathBuf>,
    #[serde(default)]
    pub key: Option<PathBuf>,
    /// When set, a client certificate signed by this CA also authenticates (its CN or first
    /// DNS SAN is the principal).
    #[serde(default)]
    pub client_ca: Option<PathBuf>,
    /// Bearer tokens, stored only as SHA-256 hashes.
    #[serde(default)]
    pub token: Vec<AdminToken>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminToken {
    pub principal: String,
    /// Lower-case hex SHA-256 of the token.
    pub sha256: String,
}

impl AdminConfig {
    pub fn validate(&self) -> Result<(), Invalid> {
        if self.cert.is_some() != self.key.is_some() {
            return Err(Invalid::new(
                "admin.cert",
                "give both cert and key, or neither",
            ));
        }
        for (i, t) in self.token.iter().enumerate() {
            let ok = t.sha256.len() == 64 && t.sha256.bytes().all(|b| b.is_ascii_hexdigit());
            if !ok {
                return Err(Invalid::new(
                    format!("admin.token[{i}].sha256"),
                    "must be 64 hex digits: the SHA-256 of the token (sha256sum)",
                ));
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    /// Where this user's notifications go.
    pub email: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotifyConfig {
    pub smtp: Option<SmtpConfig>,
    pub webhook: Option<WebhookConfig>,
}

impl NotifyConfig {
    pub fn validate(&self) -> Result<(), Invalid> {
        if let Some(w) = &self.webhook {
            let ok = w.url.starts_with("http://") || w.url.starts_with("https://");
            if !ok {
                return Err(Invalid::new("notify.webhook.url", "must be an http(s) URL"));
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    None,
    Starttls,
    Tls,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub from: String,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    pub url: String,
}
