//! Development certificates (rcgen): a CA, a server certificate for the names given, and a
//! client certificate for mTLS tests.
//!
//! Files already present are kept (so a CA imported into a client's trust store stays valid)
//! unless `force` is set. A kept CA still signs new server or client certificates; the result is
//! verified against it, so a foreign `ca.pem` is reported instead of silently mismatched.
//! Private keys are written with mode 0600.

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use std::path::{Path, PathBuf};
use time::{Duration, OffsetDateTime};

/// The client certificate's CN when none is given: a user principal as in the samples.
pub const DEFAULT_CLIENT_PRINCIPAL: &str = "admin@contoso.com";

/// How long generated certificates are valid (the CA a little longer).
const VALIDITY_DAYS: i64 = 397;
const CA_COMMON_NAME: &str = "runspace-gateway dev CA";

/// What to generate.
#[derive(Debug, Clone)]
pub struct CertRequest {
    /// DNS names or IP addresses for the server certificate.
    pub hosts: Vec<String>,
    /// Also put `localhost` and `127.0.0.1` in the server certificate.
    pub loopback: bool,
    /// CN of the client certificate.
    pub client_principal: String,
    /// Replace existing files.
    pub force: bool,
}

/// Paths of the files in the certificate directory, and which were written this time.
#[derive(Debug, Clone)]
pub struct DevCerts {
    pub ca_cert: PathBuf,
    pub ca_key: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    /// Files written by this call (empty when everything was kept).
    pub written: Vec<PathBuf>,
}

/// Why certificates could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CertError {
    #[error("cannot write or read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    Existing { path: PathBuf, message: String },
    #[error("certificate generation failed ({what}): {message}")]
    Generate { what: &'static str, message: String },
}

/// Dev mode's certificates in `dir`: keeps what exists, otherwise makes them for `hosts` plus
/// `localhost` and `127.0.0.1`, with the default client principal.
pub fn ensure_dev_certs(dir: &Path, hosts: &[String]) -> Result<DevCerts, CertError> {
    generate(
        dir,
        &CertRequest {
            hosts: hosts.to_vec(),
            loopback: true,
            client_principal: DEFAULT_CLIENT_PRINCIPAL.to_string(),
            force: false,
        },
    )
}

/// Write whatever of the CA, server and client pairs is missing in `dir` (all with `force`).
/// A new CA means new server and client certificates too.
pub fn generate(dir: &Path, request: &CertRequest) -> Result<DevCerts, CertError> {
    if request.hosts.is_empty() && !request.loopback {
        return Err(CertError::Generate {
            what: "server",
            message: "no host name given; pass --host NAME (or --loopback)".into(),
        });
    }
    std::fs::create_dir_all(dir).map_err(|source| io_error(dir, source))?;
    let mut certs = DevCerts {
        ca_cert: dir.join("ca.pem"),
        ca_key: dir.join("ca.key"),
        server_cert: dir.join("server.pem"),
        server_key: dir.join("server.key"),
        client_cert: dir.join("client.pem"),
        client_key: dir.join("client.key"),
        written: Vec::new(),
    };
    let new_ca = request.force || !(certs.ca_cert.exists() && certs.ca_key.exists());
    let ca_key = if new_ca {
        let key = new_key("CA")?;
        let ca = ca_params().self_signed(&key).map_err(gen_error("CA"))?;
        write_pair(&mut certs, Pair::Ca, &ca.pem(), &key.serialize_pem())?;
        key
    } else {
        let pem = read(&certs.ca_key)?;
        KeyPair::from_pem(&pem).map_err(|e| existing(&certs.ca_key, e))?
    };
    // Re-creating the CA's parameters gives the same issuer name and key identifier.
    let ca = ca_params().self_signed(&ca_key).map_err(gen_error("CA"))?;
    let new_server = new_ca || !(certs.server_cert.exists() && certs.server_key.exists());
    let new_client = new_ca || !(certs.client_cert.exists() && certs.client_key.exists());
    if !new_ca && (new_server || new_client) {
        verify_kept_ca(&certs.ca_cert, &ca, &ca_key)?;
    }
    if new_server {
        let key = new_key("server")?;
        let cert = server_params(request)?
            .signed_by(&key, &ca, &ca_key)
            .map_err(gen_error("server"))?;
        write_pair(&mut certs, Pair::Server, &cert.pem(), &key.serialize_pem())?;
    }
    if new_client {
        let key = new_key("client")?;
        let cert = client_params(&request.client_principal)
            .signed_by(&key, &ca, &ca_key)
            .map_err(gen_error("client"))?;
        write_pair(&mut certs, Pair::Client, &cert.pem(), &key.serialize_pem())?;
    }
    Ok(certs)
}

fn validity(params: &mut CertificateParams, days: i64) {
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::days(1);
    params.not_after = now + Duration::days(days);
}

fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, CA_COMMON_NAME);
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    validity(&mut params, VALIDITY_DAYS * 3);
    params
}

fn server_params(request: &CertRequest) -> Result<CertificateParams, CertError> {
    let mut names = request.hosts.clone();
    if request.loopback {
        for name in ["localhost", "127.0.0.1"] {
            if !names.iter().any(|n| n == name) {
                names.push(name.to_string());
            }
        }
    }
    let Some(first) = names.first().cloned() else {
        return Err(CertError::Generate {
            what: "server",
            message: "no host name given; pass --host NAME (or --loopback)".into(),
        });
    };
    let mut params = CertificateParams::new(names).map_err(gen_error("server names"))?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, first);
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    validity(&mut params, VALIDITY_DAYS);
    Ok(params)
}

fn client_params(principal: &str) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, principal);
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.use_authority_key_identifier_extension = true;
    validity(&mut params, VALIDITY_DAYS);
    params
}

/// Check that the kept `ca.key` and `ca.pem` belong together, by issuing a probe certificate
/// with the key and verifying it against the certificate (rustls' own path validation).
fn verify_kept_ca(
    ca_path: &Path,
    ca: &rcgen::Certificate,
    ca_key: &KeyPair,
) -> Result<(), CertError> {
    use rustls::client::danger::ServerCertVerifier;
    let mut roots = rustls::RootCertStore::empty();
    for cert in crate::proxy::tls::load_certs("ca", ca_path).map_err(|e| existing(ca_path, e))? {
        roots.add(cert).map_err(|e| existing(ca_path, e))?;
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
        std::sync::Arc::new(roots),
        provider,
    )
    .build()
    .map_err(|e| existing(ca_path, e))?;
    let probe_key = new_key("probe")?;
    let probe_request = CertRequest {
        hosts: vec!["localhost".into()],
        loopback: false,
        client_principal: String::new(),
        force: false,
    };
    let probe = server_params(&probe_request)?
        .signed_by(&probe_key, ca, ca_key)
        .map_err(gen_error("probe"))?;
    let name =
        rustls_pki_types::ServerName::try_from("localhost").map_err(|e| existing(ca_path, e))?;
    verifier
        .verify_server_cert(probe.der(), &[], &name, &[], rustls_pki_types::UnixTime::now())
        .map_err(|e| {
            existing(
                ca_path,
                format!("was not made with ca.key by this command, so it cannot sign new certificates ({e})"),
            )
        })?;
    Ok(())
}

#[derive(Clone, Copy)]
enum Pair {
    Ca,
    Server,
    Client,
}

fn write_pair(certs: &mut DevCerts, pair: Pair, cert: &str, key: &str) -> Result<(), CertError> {
    let (cert_path, key_path) = match pair {
        Pair::Ca => (certs.ca_cert.clone(), certs.ca_key.clone()),
        Pair::Server => (certs.server_cert.clone(), certs.server_key.clone()),
        Pair::Client => (certs.client_cert.clone(), certs.client_key.clone()),
    };
    write_private(&key_path, key)?;
    std::fs::write(&cert_path, cert).map_err(|source| io_error(&cert_path, source))?;
    certs.written.push(cert_path);
    certs.written.push(key_path);
    Ok(())
}

/// Write a private key readable by the owner only.
fn write_private(path: &Path, text: &str) -> Result<(), CertError> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .map_err(|source| io_error(path, source))?;
    file.write_all(text.as_bytes())
        .map_err(|source| io_error(path, source))
}

fn read(path: &Path) -> Result<String, CertError> {
    std::fs::read_to_string(path).map_err(|source| io_error(path, source))
}

fn new_key(what: &'static str) -> Result<KeyPair, CertError> {
    KeyPair::generate().map_err(gen_error(what))
}

fn io_error(path: &Path, source: std::io::Error) -> CertError {
    CertError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn existing(path: &Path, error: impl std::fmt::Display) -> CertError {
    CertError::Existing {
        path: path.to_path_buf(),
        message: format!("{error}; pass --force to make a new set"),
    }
}

fn gen_error(what: &'static str) -> impl Fn(rcgen::Error) -> CertError {
    move |e| CertError::Generate {
        what,
        message: e.to_string(),
    }
}

#[cfg(test)]
mod tests;
