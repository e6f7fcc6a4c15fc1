//! Who is calling: a bearer token (checked against the SHA-256 hashes in `[[admin.token]]`) or
//! a verified mTLS client certificate.

use crate::config::AdminToken;
use sha2::{Digest, Sha256};

/// Longest `Authorization` header value considered; longer is refused without hashing.
pub const MAX_TOKEN_BYTES: usize = 4_096;

/// The configured tokens, as hash -> principal.
#[derive(Debug, Clone, Default)]
pub struct TokenSet {
    entries: Vec<([u8; 32], String)>,
}

impl TokenSet {
    /// From config; a malformed hash (already refused by config validation) is skipped.
    pub fn from_config(tokens: &[AdminToken]) -> TokenSet {
        let entries = tokens.iter().filter_map(|t| {
            let bytes = hex::decode(t.sha256.trim()).ok()?;
            let hash: [u8; 32] = bytes.try_into().ok()?;
            Some((hash, t.principal.to_lowercase()))
        });
        TokenSet {
            entries: entries.collect(),
        }
    }

    /// The principal whose token is in this `Authorization` header value, if any. Every
    /// configured hash is compared in constant time, so timing reveals nothing about them.
    pub fn principal(&self, authorization: &[u8]) -> Option<String> {
        if authorization.len() > MAX_TOKEN_BYTES {
            return None;
        }
        let token = strip_bearer(authorization)?;
        let presented: [u8; 32] = Sha256::digest(token).into();
        let mut found = None;
        for (hash, principal) in &self.entries {
            if constant_time_eq(hash, &presented) {
                found = Some(principal.clone());
            }
        }
        found
    }
}

fn strip_bearer(value: &[u8]) -> Option<&[u8]> {
    let (scheme, rest) = value.split_at_checked(7)?;
    let token = rest.trim_ascii();
    (scheme.eq_ignore_ascii_case(b"bearer ") && !token.is_empty()).then_some(token)
}

/// Compare without an early exit.
fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The SHA-256 of a token, as lower-case hex (what `[[admin.token]] sha256` holds).
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set() -> TokenSet {
        TokenSet::from_config(&[AdminToken {
            principal: "Alice@Contoso.com".into(),
            sha256: token_hash("s3cret"),
        }])
    }

    #[test]
    fn the_right_token_names_its_principal() {
        assert_eq!(
            set().principal(b"Bearer s3cret").as_deref(),
            Some("alice@contoso.com")
        );
        assert_eq!(
            set().principal(b"bearer  s3cret ").as_deref(),
            Some("alice@contoso.com")
        );
    }

    #[test]
    fn wrong_missing_or_oversized_tokens_name_nobody() {
        for bad in [
            &b"Bearer s3cre"[..],
            b"Basic s3cret",
            b"Bearer ",
            b"s3cret",
            b"",
        ] {
            assert_eq!(set().principal(bad), None, "{bad:?}");
        }
        let mut huge = b"Bearer ".to_vec();
        huge.resize(MAX_TOKEN_BYTES + 1, b'a');
        assert_eq!(set().principal(&huge), None);
    }

    #[test]
    fn the_example_config_hash_is_the_sha256_of_its_token() {
        assert_eq!(
            token_hash("alice"),
            "2bd806c97f0e00af1a1fc3328fa763a9269723c8db8fac4f93af71db186d6e90"
        );
    }
}
