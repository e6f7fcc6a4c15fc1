use super::*;

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn jwt(claims: &str) -> String {
    let e = &base64::engine::general_purpose::URL_SAFE_NO_PAD;
    format!(
        "{}.{}.sig",
        e.encode(r#"{"alg":"RS256"}"#),
        e.encode(claims)
    )
}

#[test]
fn basic_gives_lower_case_user() {
    let p = principal(
        Some(&format!("Basic {}", b64("Admin@Contoso.com:pw"))),
        None,
    )
    .unwrap();
    assert_eq!(
        p,
        Principal {
            name: "admin@contoso.com".into(),
            source: Source::Basic
        }
    );
}

#[test]
fn bearer_uses_claims_in_order() {
    let t = jwt(r#"{"preferred_username":"b@x","unique_name":"c@x","upn":"A@X"}"#);
    assert_eq!(
        principal(Some(&format!("Bearer {t}")), None).unwrap().name,
        "a@x"
    );
    let t = jwt(r#"{"unique_name":"c@x"}"#);
    assert_eq!(
        principal(Some(&format!("bearer {t}")), None).unwrap().name,
        "c@x"
    );
    let t = jwt(r#"{"oid":"1"}"#);
    assert!(principal(Some(&format!("Bearer {t}")), None).is_err());
}

#[test]
fn basic_carrying_bearer_uses_the_token() {
    let t = jwt(r#"{"upn":"admin@contoso.com"}"#);
    let auth = format!("Basic {}", b64(&format!("someone-else@x:Bearer {t}")));
    let p = principal(Some(&auth), None).unwrap();
    assert_eq!(p.name, "admin@contoso.com");
    assert_eq!(p.source, Source::BasicBearer);
}

#[test]
fn connection_bound_schemes_cannot_be_inspected() {
    for scheme in [
        "Negotiate TlRMTVNTUAAB",
        "NTLM abc",
        "Kerberos abc",
        "CredSSP abc",
    ] {
        let e = principal(Some(scheme), None).unwrap_err();
        assert!(
            matches!(e, InspectError::CannotInspect { .. }),
            "{scheme}: {e}"
        );
    }
}

#[test]
fn certificate_principal_when_no_header_or_the_wsman_marker() {
    let p = principal(None, Some("Ops-Bot")).unwrap();
    assert_eq!(
        p,
        Principal {
            name: "ops-bot".into(),
            source: Source::Certificate
        }
    );
    let marker = "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/mutual";
    assert_eq!(
        principal(Some(marker), Some("bot")).unwrap().source,
        Source::Certificate
    );
    assert!(principal(Some(marker), None).is_err());
    assert!(principal(None, None).is_err());
}

#[test]
fn malformed_credentials_are_refused() {
    assert!(principal(Some("Basic !!!"), None).is_err());
    assert!(principal(Some(&format!("Basic {}", b64("nocolon"))), None).is_err());
    assert!(principal(Some(&format!("Basic {}", b64(":pw"))), None).is_err());
    assert!(principal(Some("Bearer a.b"), None).is_err());
    assert!(principal(Some("Digest x"), None).is_err());
}

#[test]
fn encrypted_bodies_cannot_be_inspected() {
    let ct = "multipart/encrypted;protocol=\"application/HTTP-SPNEGO-session-encrypted\";boundary=\"Encrypted Boundary\"";
    assert!(matches!(
        check_content_type(Some(ct)),
        Err(InspectError::CannotInspect { .. })
    ));
    assert!(check_content_type(Some("application/soap+xml;charset=UTF-8")).is_ok());
}
