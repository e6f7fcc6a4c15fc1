//! The defensive redaction pass applied to every cmdlet before it is written to the audit log.
//!
//! The inspector already replaces secrets with [`REDACTED`] when it decodes a request. The audit
//! log must never hold a secret even if a front door misses one, so it redacts again here. The
//! password-like names are the inspector's one list,
//! [`crate::inspect::redact::SECRET_PARAMETER_SUFFIXES`]: a secret name is added there, once,
//! for both. This pass adds what only a second look needs: SecureString markers anywhere in a
//! value, and password-like keys inside nested objects (a hashtable argument).

use crate::inspect::redact::is_secret_parameter;
use crate::invocation::{Value, REDACTED};

/// Type markers that announce a SecureString (CLIXML `<SS>`, .NET type names, OData types).
/// A string value containing one of these, or an object carrying one as a key or type, is
/// replaced whole.
const SECURE_STRING_MARKERS: &[&str] = &["<ss>", "securestring", "pscredential"];

/// How deep the pass walks nested arrays and objects. Anything deeper is replaced whole: a
/// value we did not look into is not written out.
pub const MAX_REDACT_DEPTH: usize = 32;

/// Whether a parameter or property name is password-like (the inspector's list).
pub fn is_secret_name(name: &str) -> bool {
    is_secret_parameter(name)
}

fn has_secure_string_marker(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    SECURE_STRING_MARKERS.iter().any(|m| lower.contains(m))
}

/// The value with every secret replaced by [`REDACTED`], and every string longer than
/// [`super::large::MAX_AUDIT_STRING_BYTES`] shortened to its size, digest and first bytes.
pub fn redact_value(value: &Value) -> Value {
    redact_at(value, 0)
}

fn redacted() -> Value {
    Value::String(REDACTED.to_string())
}

fn redact_at(value: &Value, depth: usize) -> Value {
    if depth >= MAX_REDACT_DEPTH {
        return redacted();
    }
    match value {
        Value::String(s) if has_secure_string_marker(s) => redacted(),
        Value::String(s) => Value::String(super::large::shorten(s).unwrap_or_else(|| s.clone())),
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| redact_at(v, depth + 1)).collect())
        }
        Value::Object(map) if object_is_secure_string(map) => redacted(),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if is_secret_name(k) {
                        redacted()
                    } else {
                        redact_at(v, depth + 1)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// An object is a SecureString when a key is the CLIXML tag `SS` or a type-like key names one.
fn object_is_secure_string(map: &serde_json::Map<String, Value>) -> bool {
    map.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("ss")
            || has_secure_string_marker(k)
            || (is_type_key(k) && v.as_str().is_some_and(has_secure_string_marker))
    })
}

fn is_type_key(key: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    lower == "type" || lower == "tn" || lower.ends_with("@odata.type") || lower == "$type"
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn password_like_names_are_secret_in_any_case() {
        for name in [
            "Password",
            "NEWPASSWORD",
            "Credential",
            "ClientSecret",
            "AccessToken",
        ] {
            assert!(is_secret_name(name), "{name}");
        }
        for name in ["Identity", "Name", "DisplayName", "Filter"] {
            assert!(!is_secret_name(name), "{name}");
        }
    }

    #[test]
    fn securestring_markers_are_replaced_whole() {
        assert_eq!(redact_value(&json!("<SS>AAEC</SS>")), json!(REDACTED));
        assert_eq!(
            redact_value(&json!("System.Security.SecureString")),
            json!(REDACTED)
        );
        assert_eq!(redact_value(&json!({"SS": "AAEC"})), json!(REDACTED));
        assert_eq!(
            redact_value(&json!({"Pwd@odata.type": "#Exchange.SecureString", "x": 1})),
            json!(REDACTED)
        );
    }

    #[test]
    fn nested_secret_properties_are_redacted_and_the_rest_kept() {
        let v = json!([{"User": "bob", "Password": "hunter2"}, "plain", 3]);
        assert_eq!(
            redact_value(&v),
            json!([{"User": "bob", "Password": REDACTED}, "plain", 3])
        );
    }

    #[test]
    fn values_deeper_than_the_limit_are_replaced() {
        let mut v = json!("deep");
        for _ in 0..MAX_REDACT_DEPTH {
            v = json!([v]);
        }
        let out = redact_value(&v);
        let mut cursor = &out;
        for _ in 0..MAX_REDACT_DEPTH {
            cursor = cursor.get(0).unwrap();
        }
        assert_eq!(cursor, &json!(REDACTED));

        let shallow = json!([[["ok"]]]);
        assert_eq!(redact_value(&shallow), shallow);
    }
}
