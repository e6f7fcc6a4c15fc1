//! The principal named by a verified client certificate: the subject's CN, else the first DNS
//! name of subjectAltName.
//!
//! rustls has already verified the chain, so only two fields are read, with a minimal DER walker
//! that returns `None` on anything unexpected (it never panics or allocates beyond the result).

/// A DER tag and its content, and what follows it.
struct Tlv<'a> {
    tag: u8,
    content: &'a [u8],
    rest: &'a [u8],
}

fn read_tlv(input: &[u8]) -> Option<Tlv<'_>> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let bytes = rest.get(..n)?;
        let len = bytes
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, rest.get(n..)?)
    };
    Some(Tlv {
        tag,
        content: rest.get(..len)?,
        rest: rest.get(len..)?,
    })
}

/// The elements of a constructed value, in order (stops at the first malformed one).
fn children(mut input: &[u8]) -> impl Iterator<Item = Tlv<'_>> {
    std::iter::from_fn(move || {
        let tlv = read_tlv(input)?;
        input = tlv.rest;
        Some(tlv)
    })
}

const SEQUENCE: u8 = 0x30;
const OID_COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];
const OID_SUBJECT_ALT_NAME: &[u8] = &[0x55, 0x1d, 0x11];

/// The certificate's principal (see the module docs).
pub fn principal(der: &[u8]) -> Option<String> {
    let certificate = read_tlv(der).filter(|t| t.tag == SEQUENCE)?;
    let tbs = read_tlv(certificate.content).filter(|t| t.tag == SEQUENCE)?;
    let mut fields = children(tbs.content).peekable();
    if fields.peek().is_some_and(|f| f.tag == 0xa0) {
        fields.next(); // [0] version
    }
    // serial, signature algorithm, issuer, validity, then the subject.
    let subject = fields.nth(4)?;
    if let Some(cn) = common_name(subject.content) {
        return Some(cn);
    }
    // subjectPublicKeyInfo, optional unique ids, then [3] extensions.
    let extensions = fields.find(|f| f.tag == 0xa3)?;
    first_dns_name(extensions.content)
}

/// The first CommonName in a Name (SEQUENCE of SET of AttributeTypeAndValue).
fn common_name(name: &[u8]) -> Option<String> {
    children(name)
        .flat_map(|rdn| children(rdn.content))
        .find_map(|attribute| {
            let mut parts = children(attribute.content);
            let oid = parts.next()?;
            let value = parts.next()?;
            let is_text = matches!(value.tag, 0x0c | 0x13 | 0x14 | 0x16);
            (oid.tag == 0x06 && oid.content == OID_COMMON_NAME && is_text)
                .then(|| String::from_utf8(value.content.to_vec()).ok())
                .flatten()
                .filter(|cn| !cn.is_empty())
        })
}

/// The first dNSName in the subjectAltName extension.
fn first_dns_name(extensions: &[u8]) -> Option<String> {
    let list = read_tlv(extensions).filter(|t| t.tag == SEQUENCE)?;
    let san = children(list.content).find_map(|extension| {
        let mut parts = children(extension.content);
        let oid = parts.next()?;
        (oid.content == OID_SUBJECT_ALT_NAME).then(|| parts.find(|p| p.tag == 0x04))?
    })?;
    let names = read_tlv(san.content).filter(|t| t.tag == SEQUENCE)?;
    children(names.content)
        .find(|general_name| general_name.tag == 0x82)
        .and_then(|dns| String::from_utf8(dns.content.to_vec()).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{CertificateParams, DnType, KeyPair};

    fn cert(cn: Option<&str>, sans: &[&str]) -> Vec<u8> {
        let mut params =
            CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        if let Some(cn) = cn {
            params
                .distinguished_name
                .push(DnType::OrganizationName, "Contoso");
            params.distinguished_name.push(DnType::CommonName, cn);
        }
        let key = KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().to_vec()
    }

    #[test]
    fn the_common_name_is_the_principal() {
        let der = cert(Some("admin@contoso.com"), &["ignored.example"]);
        assert_eq!(principal(&der).as_deref(), Some("admin@contoso.com"));
    }

    #[test]
    fn without_a_common_name_the_first_dns_name_is_used() {
        let der = cert(None, &["10.0.0.1", "ops.contoso.com", "b.contoso.com"]);
        assert_eq!(principal(&der).as_deref(), Some("ops.contoso.com"));
    }

    #[test]
    fn every_truncation_and_corruption_is_handled_without_panic() {
        let der = cert(Some("admin@contoso.com"), &["a.example"]);
        for end in 0..der.len() {
            let _ = principal(&der[..end]);
        }
        for i in 0..der.len() {
            let mut bad = der.clone();
            bad[i] ^= 0xff;
            let _ = principal(&bad);
        }
    }
}
