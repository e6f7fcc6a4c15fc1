//! The admin listener's TLS: the `[admin]` certificate (or the `[listen]` pair), and when
//! `[admin] client_ca` is set, client certificates signed by it are verified and accepted as an
//! alternative to bearer tokens.

use crate::config::{AdminConfig, ListenConfig};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::Path;
use std::sync::Arc;

fn certs(path: &Path, key: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let iter = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("{key}: cannot read {}: {e}", path.display()))?;
    let certs: Vec<_> = iter
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{key}: {} is not PEM certificates: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{key}: {} holds no certificate", path.display()));
    }
    Ok(certs)
}

/// Build the server TLS config from PEM files.
pub fn server_config(
    cert: &Path,
    key: &Path,
    client_ca: Option<&Path>,
) -> Result<ServerConfig, String> {
    let chain = certs(cert, "admin.cert")?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| {
        format!(
            "admin.key: cannot read a PEM private key from {}: {e}",
            key.display()
        )
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            for c in certs(ca, "admin.client_ca")? {
                roots.add(c).map_err(|e| format!("admin.client_ca: {e}"))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .allow_unauthenticated()
                .build()
                .map_err(|e| format!("admin.client_ca: {e}"))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder
        .with_single_cert(chain, key)
        .map_err(|e| format!("admin.cert/admin.key: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// The admin TLS config from the config file: `[admin] cert/key`, else the `[listen]` pair.
pub fn from_config(admin: &AdminConfig, listen: &ListenConfig) -> Result<ServerConfig, String> {
    let (cert, key) = match (&admin.cert, &admin.key) {
        (Some(c), Some(k)) => (c, k),
        _ => (&listen.cert, &listen.key),
    };
    server_config(cert, key, admin.client_ca.as_deref())
}
