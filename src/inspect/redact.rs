//! Which parameters carry secrets. Their values are replaced by [`REDACTED`] before an
//! invocation leaves the inspector, so no secret reaches policy, audit or logs.
//!
//! SecureString values (`<SS>`) are redacted wherever they appear, whatever the parameter name.

pub use crate::invocation::REDACTED;

/// Parameter-name endings that mark a secret (compared ignoring ASCII case), so `Password`,
/// `NewPassword`, `ClientSecret`, `AccessToken` and `Credential` are all covered.
pub const SECRET_PARAMETER_SUFFIXES: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "credential",
    "credentials",
    "apikey",
    "privatekey",
    "sharedkey",
    "securestring",
    "pin",
];

/// Whether a parameter of this name carries a secret.
pub fn is_secret_parameter(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    SECRET_PARAMETER_SUFFIXES
        .iter()
        .any(|suffix| lower.ends_with(suffix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_like_names_are_secret() {
        for name in [
            "Password",
            "NewPassword",
            "credential",
            "ClientSecret",
            "AccessToken",
            "PIN",
        ] {
            assert!(is_secret_parameter(name), "{name}");
        }
    }

    #[test]
    fn ordinary_names_are_not() {
        for name in [
            "Identity",
            "ResultSize",
            "PasswordNeverExpires",
            "Confirm",
            "Force",
        ] {
            assert!(!is_secret_parameter(name), "{name}");
        }
    }
}
