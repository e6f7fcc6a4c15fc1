use super::*;
use rustls::client::danger::ServerCertVerifier;
use std::sync::Arc;

fn request(hosts: &[&str], force: bool) -> CertRequest {
    CertRequest {
        hosts: hosts.iter().map(|h| h.to_string()).collect(),
        loopback: true,
        client_principal: "ops@contoso.com".into(),
        force,
    }
}

/// Verify `server.pem` for `name` against `ca.pem`, as a client would.
fn server_verifies(certs: &DevCerts, name: &str) -> bool {
    let mut roots = rustls::RootCertStore::empty();
    for c in crate::proxy::tls::load_certs("ca", &certs.ca_cert).unwrap() {
        roots.add(c).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier =
        rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .unwrap();
    let chain = crate::proxy::tls::load_certs("server", &certs.server_cert).unwrap();
    let name = rustls_pki_types::ServerName::try_from(name.to_string()).unwrap();
    verifier
        .verify_server_cert(
            &chain[0],
            &[],
            &name,
            &[],
            rustls_pki_types::UnixTime::now(),
        )
        .is_ok()
}

#[test]
fn a_fresh_directory_gets_a_ca_a_server_and_a_client_pair() {
    let dir = tempfile::tempdir().unwrap();
    let certs = generate(dir.path(), &request(&["gw.contoso.com"], false)).unwrap();
    assert_eq!(certs.written.len(), 6);
    assert!(server_verifies(&certs, "gw.contoso.com"));
    assert!(server_verifies(&certs, "localhost"));
    assert!(server_verifies(&certs, "127.0.0.1"));
    assert!(!server_verifies(&certs, "other.contoso.com"));
    let client = crate::proxy::tls::load_certs("client", &certs.client_cert).unwrap();
    assert_eq!(
        crate::proxy::client_cert_principal(&client[0]).as_deref(),
        Some("ops@contoso.com")
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&certs.server_key)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "private key readable by others: {mode:o}");
    }
}

#[test]
fn existing_files_are_kept_and_force_replaces_them() {
    let dir = tempfile::tempdir().unwrap();
    let first = generate(dir.path(), &request(&["a.example"], false)).unwrap();
    let ca_before = std::fs::read(&first.ca_cert).unwrap();
    let again = generate(dir.path(), &request(&["b.example"], false)).unwrap();
    assert!(again.written.is_empty());
    assert_eq!(std::fs::read(&first.ca_cert).unwrap(), ca_before);
    let forced = generate(dir.path(), &request(&["b.example"], true)).unwrap();
    assert_eq!(forced.written.len(), 6);
    assert_ne!(std::fs::read(&first.ca_cert).unwrap(), ca_before);
    assert!(server_verifies(&forced, "b.example"));
}

#[test]
fn a_missing_server_pair_is_reissued_by_the_kept_ca() {
    let dir = tempfile::tempdir().unwrap();
    let first = ensure_dev_certs(dir.path(), &[]).unwrap();
    let ca_before = std::fs::read(&first.ca_cert).unwrap();
    std::fs::remove_file(&first.server_cert).unwrap();
    let second = generate(dir.path(), &request(&["new.example"], false)).unwrap();
    assert_eq!(
        second.written,
        vec![second.server_cert.clone(), second.server_key.clone()]
    );
    assert_eq!(std::fs::read(&second.ca_cert).unwrap(), ca_before);
    assert!(server_verifies(&second, "new.example"));
}

#[test]
fn a_ca_certificate_not_matching_its_key_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let other = tempfile::tempdir().unwrap();
    let first = ensure_dev_certs(dir.path(), &[]).unwrap();
    let foreign = ensure_dev_certs(other.path(), &[]).unwrap();
    std::fs::copy(&foreign.ca_cert, &first.ca_cert).unwrap();
    std::fs::remove_file(&first.client_cert).unwrap();
    let err = ensure_dev_certs(dir.path(), &[]).unwrap_err().to_string();
    assert!(err.contains("ca.pem"), "{err}");
    assert!(err.contains("--force"), "{err}");
}

#[test]
fn no_host_and_no_loopback_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = request(&[], false);
    r.loopback = false;
    let err = generate(dir.path(), &r).unwrap_err().to_string();
    assert!(err.contains("--host"), "{err}");
}
