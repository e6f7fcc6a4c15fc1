//! Who is calling the mock. WinRM takes HTTP Basic; the REST API also takes a Bearer JWT, as
//! Exchange Online does. The mock checks Basic passwords against its `--user` list (any
//! credentials when the list is empty) and reads a JWT's name claim without verifying it:
//! it is a test double, and the gateway in front of it is what authenticates.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;

/// A `--user NAME:PASSWORD` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub password: String,
}

impl std::str::FromStr for User {
    type Err = String;
    fn from_str(s: &str) -> Result<User, String> {
        match s.split_once(':') {
            Some((name, password)) if !name.is_empty() => Ok(User {
                name: name.to_owned(),
                password: password.to_owned(),
            }),
            _ => Err(format!(
                "--user {s:?}: expected NAME:PASSWORD, e.g. alice:secret"
            )),
        }
    }
}

/// Why a request was not authenticated (answered with 401).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("no Authorization header; send HTTP Basic credentials")]
    Missing,
    #[error("Authorization scheme not accepted here; use Basic{}", if *.0 { " or Bearer" } else { "" })]
    Scheme(bool),
    #[error("malformed Basic credentials: expected base64 of NAME:PASSWORD")]
    MalformedBasic,
    #[error("malformed Bearer token: expected a JWT whose payload has upn, preferred_username or unique_name")]
    MalformedBearer,
    #[error("unknown user or wrong password")]
    Rejected,
}

/// Authenticate one request; `bearer_ok` is true on the REST paths. Returns the user name.
pub fn authenticate(
    header: Option<&[u8]>,
    users: &[User],
    bearer_ok: bool,
) -> Result<String, AuthError> {
    let header = header.ok_or(AuthError::Missing)?;
    let header = std::str::from_utf8(header).map_err(|_| AuthError::MalformedBasic)?;
    let (scheme, rest) = header.split_once(' ').ok_or(AuthError::Scheme(bearer_ok))?;
    if scheme.eq_ignore_ascii_case("basic") {
        let (name, password) = decode_basic(rest.trim())?;
        let known = users.is_empty()
            || users
                .iter()
                .any(|u| u.name == name && u.password == password);
        return if known {
            Ok(name)
        } else {
            Err(AuthError::Rejected)
        };
    }
    if bearer_ok && scheme.eq_ignore_ascii_case("bearer") {
        let name = jwt_name(rest.trim()).ok_or(AuthError::MalformedBearer)?;
        let known = users.is_empty() || users.iter().any(|u| u.name.eq_ignore_ascii_case(&name));
        return if known {
            Ok(name)
        } else {
            Err(AuthError::Rejected)
        };
    }
    Err(AuthError::Scheme(bearer_ok))
}

fn decode_basic(b64: &str) -> Result<(String, String), AuthError> {
    let bytes = STANDARD
        .decode(b64)
        .map_err(|_| AuthError::MalformedBasic)?;
    let text = String::from_utf8(bytes).map_err(|_| AuthError::MalformedBasic)?;
    let (name, password) = text.split_once(':').ok_or(AuthError::MalformedBasic)?;
    if name.is_empty() {
        return Err(AuthError::MalformedBasic);
    }
    Ok((name.to_owned(), password.to_owned()))
}

fn jwt_name(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    ["upn", "preferred_username", "unique_name"]
        .iter()
        .find_map(|c| claims.get(*c)?.as_str().map(str::to_owned))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(user_pass: &str) -> String {
        format!("Basic {}", STANDARD.encode(user_pass))
    }

    fn users() -> Vec<User> {
        vec!["alice:s3cret".parse().unwrap()]
    }

    #[test]
    fn basic_checks_the_password_against_the_user_list() {
        let ok = basic("alice:s3cret");
        assert_eq!(
            authenticate(Some(ok.as_bytes()), &users(), false),
            Ok("alice".into())
        );
        let bad = basic("alice:wrong");
        assert_eq!(
            authenticate(Some(bad.as_bytes()), &users(), false),
            Err(AuthError::Rejected)
        );
    }

    #[test]
    fn without_a_user_list_any_basic_credentials_pass_but_are_required() {
        let h = basic("bob@contoso.com:Bearer abc:def");
        assert_eq!(
            authenticate(Some(h.as_bytes()), &[], false),
            Ok("bob@contoso.com".into())
        );
        assert_eq!(authenticate(None, &[], false), Err(AuthError::Missing));
        assert_eq!(
            authenticate(Some(b"Basic !!!"), &[], false),
            Err(AuthError::MalformedBasic)
        );
        let no_colon = format!("Basic {}", STANDARD.encode("alice"));
        assert_eq!(
            authenticate(Some(no_colon.as_bytes()), &[], false),
            Err(AuthError::MalformedBasic)
        );
    }

    #[test]
    fn bearer_is_read_only_where_allowed() {
        let payload = URL_SAFE_NO_PAD.encode(r#"{"upn":"carol@contoso.com"}"#);
        let h = format!("Bearer eyJhbGciOiJub25lIn0.{payload}.sig");
        assert_eq!(
            authenticate(Some(h.as_bytes()), &[], true),
            Ok("carol@contoso.com".into())
        );
        assert_eq!(
            authenticate(Some(h.as_bytes()), &[], false),
            Err(AuthError::Scheme(false))
        );
        assert_eq!(
            authenticate(Some(b"Bearer nonsense"), &[], true),
            Err(AuthError::MalformedBearer)
        );
        assert_eq!(
            authenticate(Some(b"Negotiate abc"), &[], true),
            Err(AuthError::Scheme(true))
        );
    }

    #[test]
    fn user_argument_needs_a_name_and_a_colon() {
        assert_eq!(
            "a:b:c".parse::<User>(),
            Ok(User {
                name: "a".into(),
                password: "b:c".into()
            })
        );
        assert!("nopassword".parse::<User>().is_err());
        assert!(":x".parse::<User>().is_err());
    }
}
