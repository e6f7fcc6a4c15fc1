//! TLS set-up for both sides of the proxy: the client-facing listener and the connection to an
//! `https` endpoint.
//!
//! Only TLS 1.2 and 1.3 (ring provider), and only HTTP/1.1 through ALPN: WinRM and the Exchange
//! REST API are HTTP/1.1, and an h2-only client is refused in the handshake rather than
//! misunderstood later. Every file problem is a start-up error naming the config key and file.

use super::StartError;
use crate::config::ListenConfig;
use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig, SupportedProtocolVersion};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::Path;
use std::sync::Arc;

/// The protocol versions offered on both sides: nothing older than TLS 1.2.
static VERSIONS: &[&SupportedProtocolVersion] = &[&rustls::version::TLS13, &rustls::version::TLS12];

/// The only application protocol spoken.
const ALPN_HTTP11: &[u8] = b"http/1.1";

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Build the listener's TLS configuration from `[listen]`: certificate, key, optional mTLS CA.
pub fn server_config(listen: &ListenConfig) -> Result<Arc<ServerConfig>, StartError> {
    let chain = load_certs("listen.cert", &listen.cert)?;
    let key = load_key("listen.key", &listen.key)?;
    let builder = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(VERSIONS)
        .map_err(|e| StartError::tls("listen", e.to_string()))?;
    let builder = match &listen.client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let roots = load_roots("listen.client_ca", ca)?;
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
                .build()
                .map_err(|e| StartError::file("listen.client_ca", ca, e.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder.with_single_cert(chain, key).map_err(|e| {
        StartError::file(
            "listen.cert/listen.key",
            &listen.cert,
            format!(
                "{e} (key file {}); check that the key belongs to the certificate",
                listen.key.display()
            ),
        )
    })?;
    config.alpn_protocols = vec![ALPN_HTTP11.to_vec()];
    Ok(Arc::new(config))
}

/// Build the TLS configuration used towards an `https` endpoint: trust only `[upstream] ca` when
/// given, else the Mozilla roots compiled into the binary.
pub fn upstream_config(ca: Option<&Path>) -> Result<Arc<ClientConfig>, StartError> {
    let roots = match ca {
        Some(path) => load_roots("upstream.ca", path)?,
        None => RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        },
    };
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(VERSIONS)
        .map_err(|e| StartError::tls("upstream", e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![ALPN_HTTP11.to_vec()];
    Ok(Arc::new(config))
}

const HOW_TO_MAKE: &str =
    "write a PEM file, or make dev certificates with `runspace-gateway certs --out DIR --host NAME`";

/// Every certificate in a PEM file; an empty or unreadable file is an error naming it.
pub fn load_certs(
    key: &'static str,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, StartError> {
    let iter = CertificateDer::pem_file_iter(path)
        .map_err(|e| StartError::file(key, path, format!("{e}; {HOW_TO_MAKE}")))?;
    let certs = iter.collect::<Result<Vec<_>, _>>().map_err(|e| {
        StartError::file(key, path, format!("not a valid PEM certificate file: {e}"))
    })?;
    if certs.is_empty() {
        return Err(StartError::file(
            key,
            path,
            format!("contains no PEM CERTIFICATE block; {HOW_TO_MAKE}"),
        ));
    }
    Ok(certs)
}

fn load_key(key: &'static str, path: &Path) -> Result<PrivateKeyDer<'static>, StartError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| {
        StartError::file(
            key,
            path,
            format!("no usable PEM private key (PKCS#8, PKCS#1 or SEC1): {e}; {HOW_TO_MAKE}"),
        )
    })
}

fn load_roots(key: &'static str, path: &Path) -> Result<RootCertStore, StartError> {
    let mut roots = RootCertStore::empty();
    for cert in load_certs(key, path)? {
        roots.add(cert).map_err(|e| {
            StartError::file(key, path, format!("not a usable CA certificate: {e}"))
        })?;
    }
    Ok(roots)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listen(dir: &Path, cert: &str, key: &str) -> ListenConfig {
        ListenConfig {
            addr: "127.0.0.1:0".parse().unwrap(),
            cert: dir.join(cert),
            key: dir.join(key),
            client_ca: None,
        }
    }

    #[test]
    fn a_missing_certificate_file_is_named() {
        let l = listen(Path::new("/nonexistent"), "server.pem", "server.key");
        let err = server_config(&l).unwrap_err().to_string();
        assert!(err.contains("listen.cert"), "{err}");
        assert!(err.contains("/nonexistent/server.pem"), "{err}");
    }

    #[test]
    fn a_garbage_key_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        crate::certs::ensure_dev_certs(dir.path(), &["localhost".to_string()]).unwrap();
        std::fs::write(dir.path().join("bad.key"), "not a key").unwrap();
        let err = server_config(&listen(dir.path(), "server.pem", "bad.key"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("listen.key"), "{err}");
        assert!(err.contains("bad.key"), "{err}");
    }

    #[test]
    fn a_key_of_another_certificate_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        crate::certs::ensure_dev_certs(dir.path(), &["localhost".to_string()]).unwrap();
        let err = server_config(&listen(dir.path(), "server.pem", "client.key"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("server.pem"), "{err}");
        assert!(err.contains("client.key"), "{err}");
    }

    #[test]
    fn generated_certificates_load_and_offer_only_http11() {
        let dir = tempfile::tempdir().unwrap();
        crate::certs::ensure_dev_certs(dir.path(), &["localhost".to_string()]).unwrap();
        let mut l = listen(dir.path(), "server.pem", "server.key");
        l.client_ca = Some(dir.path().join("ca.pem"));
        let config = server_config(&l).unwrap();
        assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
        upstream_config(Some(&dir.path().join("ca.pem"))).unwrap();
        upstream_config(None).unwrap();
    }
}
