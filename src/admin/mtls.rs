//! The principal of a verified client certificate: its subject CN, else its first DNS SAN.
//! rustls has already verified the chain against `[admin] client_ca`; this only reads names.

use rustls_pki_types::CertificateDer;

/// DER of the OID 2.5.4.3 (commonName), with its tag and length.
const CN_OID: [u8; 5] = [0x06, 0x03, 0x55, 0x04, 0x03];

pub fn principal(cert: &CertificateDer<'_>) -> Option<String> {
    let parsed = webpki::EndEntityCert::try_from(cert).ok()?;
    let cn = common_name(parsed.subject());
    let name = cn.or_else(|| parsed.valid_dns_names().next().map(str::to_string))?;
    Some(name.to_lowercase())
}

/// Find the CN value in a DER Name: the OID, then a short string (UTF8, Printable, IA5).
fn common_name(subject: &[u8]) -> Option<String> {
    let at = subject.windows(CN_OID.len()).position(|w| w == CN_OID)?;
    let rest = subject.get(at + CN_OID.len()..)?;
    let (&tag, rest) = rest.split_first()?;
    let (&len, rest) = rest.split_first()?;
    let string_tag = matches!(tag, 0x0c | 0x13 | 0x16);
    if !string_tag || len >= 0x80 {
        return None;
    }
    let value = rest.get(..usize::from(len))?;
    std::str::from_utf8(value).ok().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cn_names_the_principal() {
        let mut params = rcgen::CertificateParams::new(vec!["ignored.example".into()]).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Bob@Contoso.com");
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        assert_eq!(principal(cert.der()).as_deref(), Some("bob@contoso.com"));
    }

    #[test]
    fn without_a_cn_the_first_dns_name_is_used() {
        let mut params = rcgen::CertificateParams::new(vec!["ops.contoso.com".into()]).unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        assert_eq!(principal(cert.der()).as_deref(), Some("ops.contoso.com"));
    }

    #[test]
    fn garbage_is_no_principal() {
        assert_eq!(
            principal(&CertificateDer::from(vec![0x30, 0x03, 1, 2])),
            None
        );
        assert_eq!(
            common_name(&[0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x7f, b'a']),
            None
        );
    }
}
