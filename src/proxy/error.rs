//! Start-up errors: what stops the gateway from starting, with the config key and file at fault.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Why [`super::Server::bind`] could not start the gateway.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// A certificate, key or CA file named in the config is missing or unusable.
    #[error("{key} = {}: {message}", path.display())]
    File {
        key: &'static str,
        path: PathBuf,
        message: String,
    },
    /// The TLS library refused the settings of one side.
    #[error("TLS set-up for [{side}] failed: {message}")]
    Tls { side: &'static str, message: String },
    /// The listen address could not be bound.
    #[error("cannot listen on {addr} (listen.addr): {source}; is another process using the port?")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    /// `[upstream] url` could not be turned into a connectable target.
    #[error("upstream.url = {url}: {message}")]
    Upstream { url: String, message: String },
}

impl StartError {
    pub(crate) fn file(key: &'static str, path: &Path, message: impl Into<String>) -> Self {
        StartError::File {
            key,
            path: path.to_path_buf(),
            message: message.into(),
        }
    }

    pub(crate) fn tls(side: &'static str, message: impl Into<String>) -> Self {
        StartError::Tls {
            side,
            message: message.into(),
        }
    }
}
