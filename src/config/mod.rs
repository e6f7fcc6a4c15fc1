//! The gateway's configuration: one strict TOML file.
//!
//! Strict means every table denies unknown keys, so a typo is an error naming the key and the
//! file instead of a silently ignored setting. Each section lives in its own file beside this one
//! and ends in a `validate()` that names the offending key.

mod audit;
mod gateway;
mod pam;
mod ratelimit;
mod runtime;
mod workflow;

pub use audit::{AuditConfig, FsyncPolicy};
pub use gateway::{
    InspectLimits, LimitsConfig, ListenConfig, UpstreamConfig, MAX_CONNECTIONS_CEILING,
};
pub use pam::{ApprovalKind, DefaultAction, PamConfig, PamMode, PolicyConfig, ScriptsAction};
pub use ratelimit::{
    validate_rules as validate_ratelimit_rules, QuotaPeriod, RateLimitKey, RateLimitRule,
    DEFAULT_MAX_KEYS_PER_RULE,
};
pub use runtime::{RuntimeConfig, Scheduler, MAX_WORKER_THREADS};
pub use workflow::{
    AdminConfig, AdminToken, NotifyConfig, SmtpConfig, SmtpTls, StoreConfig, UserConfig,
    WebhookConfig, WorkflowConfig,
};

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The whole configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The client-facing TLS listener.
    pub listen: ListenConfig,
    /// The management endpoint the gateway protects.
    pub upstream: UpstreamConfig,
    /// Transport limits (body size, timeouts, connections).
    #[serde(default)]
    pub limits: LimitsConfig,
    /// Inspection limits (decoded size, reassembly, XML and CLIXML shape).
    #[serde(default)]
    pub inspect: InspectLimits,
    /// The privileged-access switch and defaults.
    #[serde(default)]
    pub pam: PamConfig,
    /// Group name -> member principals (UPNs). Approver groups refer to these.
    #[serde(default)]
    pub groups: BTreeMap<String, Vec<String>>,
    /// Role name -> the cmdlets it covers.
    #[serde(default)]
    pub roles: BTreeMap<String, Vec<String>>,
    /// Approval policies declared in the file (more can be added through the admin API).
    #[serde(default)]
    pub policy: Vec<PolicyConfig>,
    /// Rate-limit rules, all of which must pass.
    #[serde(default)]
    pub ratelimit: Vec<RateLimitRule>,
    /// The durable store of policies, requests and grants.
    #[serde(default)]
    pub store: StoreConfig,
    /// Workflow timing (pending-request expiry, default hours).
    #[serde(default)]
    pub workflow: WorkflowConfig,
    /// The admin API listener and its bearer tokens.
    #[serde(default)]
    pub admin: Option<AdminConfig>,
    /// Per-user settings (e-mail address for notifications).
    #[serde(default)]
    pub users: BTreeMap<String, UserConfig>,
    /// E-mail and webhook notifications.
    #[serde(default)]
    pub notify: NotifyConfig,
    /// The tamper-evident audit log.
    #[serde(default)]
    pub audit: AuditConfig,
    /// The threads that serve connections.
    #[serde(default)]
    pub runtime: RuntimeConfig,
}

/// A configuration error: which file, and what was wrong with which key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid config file {path}: {key}: {message}")]
    Invalid {
        path: PathBuf,
        key: String,
        message: String,
    },
}

/// A validation failure before the file name is attached: the dotted key and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub key: String,
    pub message: String,
}

impl Invalid {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Invalid {
            key: key.into(),
            message: message.into(),
        }
    }
}

impl Config {
    /// Read, parse and validate a config file. Relative paths inside it are resolved against
    /// the current directory, as operators expect from a command line.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::parse(&text, path)
    }

    /// Parse and validate config text; `path` is only used in error messages.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().replace('\n', " | "),
        })?;
        config.validate().map_err(|i| ConfigError::Invalid {
            path: path.to_path_buf(),
            key: i.key,
            message: i.message,
        })?;
        Ok(config)
    }

    /// Cross-section checks; each section checks its own keys first.
    pub fn validate(&self) -> Result<(), Invalid> {
        self.listen.validate()?;
        self.upstream.validate()?;
        self.limits.validate()?;
        self.inspect.validate()?;
        self.pam.validate()?;
        for (i, p) in self.policy.iter().enumerate() {
            p.validate(i, &self.groups, &self.roles)?;
        }
        validate_ratelimit_rules(&self.ratelimit)?;
        self.workflow.validate()?;
        if let Some(admin) = &self.admin {
            admin.validate()?;
        }
        self.notify.validate()?;
        self.audit.validate()?;
        self.runtime.validate()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
