//! The caller's principal from the HTTP request (protocol.md §7).
//!
//! Basic gives the user name; Bearer gives the JWT's `upn`, `preferred_username` or
//! `unique_name`; Basic whose password is `Bearer <jwt>` (`BasicAuthToOAuthConversion`) gives the
//! JWT's claim. The JWT is decoded **without verifying its signature**: the endpoint verifies the
//! token (the gateway forwards it unchanged), and the gateway only needs to know whom to hold to
//! the policy. A forged token is refused by the endpoint; it cannot widen what the gateway
//! allows because policy is decided for the name the token carries.
//!
//! Negotiate, NTLM, Kerberos and CredSSP bind to the connection and encrypt bodies, so they are
//! refused with a "cannot inspect" error, as are `multipart/encrypted` bodies.

use crate::inspect::error::{InspectError, Layer};
use base64::Engine;

const L: Layer = Layer::Identity;

/// The claims tried, in order, for the principal.
pub const PRINCIPAL_CLAIMS: &[&str] = &["upn", "preferred_username", "unique_name"];

/// Where the principal came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Basic,
    Bearer,
    /// Basic carrying `Bearer <jwt>` as the password.
    BasicBearer,
    /// The mTLS client certificate.
    Certificate,
}

/// The caller, normalised to lower case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub name: String,
    pub source: Source,
}

/// Derive the principal from an `Authorization` value and an optional verified client
/// certificate principal. The header wins when both exist; the certificate serves requests
/// that carry the WS-Man certificate-auth marker or no header.
pub fn principal(
    authorization: Option<&str>,
    cert_principal: Option<&str>,
) -> Result<Principal, InspectError> {
    let Some(auth) = authorization.map(str::trim).filter(|a| !a.is_empty()) else {
        return from_certificate(cert_principal, "no Authorization header");
    };
    let (scheme, rest) = auth.split_once(' ').unwrap_or((auth, ""));
    let rest = rest.trim();
    match scheme.to_ascii_lowercase().as_str() {
        "basic" => basic(rest),
        "bearer" => Ok(Principal {
            name: jwt_principal(rest)?,
            source: Source::Bearer,
        }),
        "negotiate" | "ntlm" | "kerberos" | "credssp" => Err(InspectError::cannot_inspect(
            L,
            format!("{scheme} authentication is connection-bound and encrypts bodies"),
        )),
        _ if auth.starts_with("http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/") => {
            from_certificate(
                cert_principal,
                "certificate authentication without a client certificate",
            )
        }
        _ => Err(InspectError::malformed(
            L,
            "Authorization",
            format!("unknown scheme {scheme:?}; Basic or Bearer expected"),
        )),
    }
}

fn from_certificate(cert: Option<&str>, why: &str) -> Result<Principal, InspectError> {
    match cert.map(str::trim).filter(|c| !c.is_empty()) {
        Some(c) => Ok(Principal {
            name: c.to_lowercase(),
            source: Source::Certificate,
        }),
        None => Err(InspectError::malformed(
            L,
            "Authorization",
            format!("{why}: the caller is unknown"),
        )),
    }
}

fn basic(b64: &str) -> Result<Principal, InspectError> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|e| {
            InspectError::malformed(L, "Authorization Basic", format!("bad base64: {e}"))
        })?;
    let text = String::from_utf8(raw).map_err(|_| {
        InspectError::malformed(L, "Authorization Basic", "credentials are not UTF-8")
    })?;
    let (user, password) = text.split_once(':').ok_or_else(|| {
        InspectError::malformed(L, "Authorization Basic", "no ':' between user and password")
    })?;
    if let Some(token) = strip_prefix_ignore_case(password, "bearer ") {
        return Ok(Principal {
            name: jwt_principal(token.trim())?,
            source: Source::BasicBearer,
        });
    }
    let user = user.trim();
    if user.is_empty() {
        return Err(InspectError::malformed(
            L,
            "Authorization Basic",
            "empty user name",
        ));
    }
    Ok(Principal {
        name: user.to_lowercase(),
        source: Source::Basic,
    })
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| s.get(prefix.len()..))
        .flatten()
}

/// The principal claim of a JWT, read without signature verification (see the module docs).
pub fn jwt_principal(token: &str) -> Result<String, InspectError> {
    let mut parts = token.split('.');
    let (Some(_header), Some(payload), Some(_sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(InspectError::malformed(
            L,
            "JWT",
            "not three dot-separated parts",
        ));
    };
    let engine = &base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let bytes = engine
        .decode(payload.trim_end_matches('='))
        .map_err(|e| InspectError::malformed(L, "JWT payload", format!("bad base64url: {e}")))?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| InspectError::malformed(L, "JWT payload", format!("not JSON: {e}")))?;
    for claim in PRINCIPAL_CLAIMS {
        if let Some(v) = claims.get(*claim).and_then(|v| v.as_str()).map(str::trim) {
            if !v.is_empty() {
                return Ok(v.to_lowercase());
            }
        }
    }
    Err(InspectError::malformed(
        L,
        "JWT payload",
        "none of the claims upn, preferred_username, unique_name is present",
    ))
}

/// Refuse bodies a proxy cannot read: message-level encryption.
pub fn check_content_type(content_type: Option<&str>) -> Result<(), InspectError> {
    let ct = content_type.unwrap_or("").trim().to_ascii_lowercase();
    if ct.starts_with("multipart/encrypted") || ct.starts_with("multipart/x-multi-encrypted") {
        return Err(InspectError::cannot_inspect(
            Layer::Http,
            "the body is encrypted at message level (multipart/encrypted, from Negotiate/Kerberos/CredSSP over HTTP)",
        ));
    }
    Ok(())
}

#[cfg(test)]
#[path = "identity_tests.rs"]
mod tests;
