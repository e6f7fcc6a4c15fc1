//! Request bodies: size-limited, JSON only, and read field by field so that every error names
//! the field at fault.

use super::reply::ApiError;
use bytes::Bytes;
use http::{header, StatusCode};
use http_body_util::{BodyExt, Limited};
use serde_json::{Map, Value};

/// Largest admin request body; larger gets 413. Policies and requests are a few hundred bytes.
pub const MAX_ADMIN_BODY_BYTES: usize = 64 * 1024;

/// Read the whole body, refusing more than [`MAX_ADMIN_BODY_BYTES`].
pub async fn read<B>(head: &http::request::Parts, body: B) -> Result<Bytes, ApiError>
where
    B: hyper::body::Body<Data = Bytes> + Send,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the request body is larger than {MAX_ADMIN_BODY_BYTES} bytes"),
        )
    };
    let declared = head
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_ADMIN_BODY_BYTES as u64) {
        return Err(too_large());
    }
    match Limited::new(body, MAX_ADMIN_BODY_BYTES).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Err(e) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "body_unreadable",
            format!("the request body could not be read: {e}"),
        )),
    }
}

/// The body as a JSON object; an empty body is an empty object. Needs `application/json`.
pub fn object(head: &http::request::Parts, body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    let content_type = head
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let is_json = content_type
        .and_then(|c| c.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!(
                "send the body as application/json (got {})",
                content_type.unwrap_or("no Content-Type")
            ),
        ));
    }
    match serde_json::from_slice(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            "the body must be a JSON object",
        )),
        Err(e) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("the body is not valid JSON: {e}"),
        )),
    }
}

/// Takes fields out of a JSON object; [`Fields::finish`] refuses any left over.
pub struct Fields(pub Map<String, Value>);

impl Fields {
    pub fn string(&mut self, name: &str) -> Result<Option<String>, ApiError> {
        match self.0.remove(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(ApiError::field(
                name,
                "invalid_type",
                format!("{name} must be a string"),
            )),
        }
    }

    /// A whole number. Out-of-range magnitudes saturate so the caller's range check reports
    /// them with the allowed range.
    pub fn integer(&mut self, name: &str) -> Result<Option<i64>, ApiError> {
        let not_whole = || {
            ApiError::field(
                name,
                "invalid_type",
                format!("{name} must be a whole number"),
            )
        };
        match self.0.remove(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => {
                if let Some(i) = n.as_i64() {
                    return Ok(Some(i));
                }
                if n.as_u64().is_some() {
                    return Ok(Some(i64::MAX));
                }
                match n.as_f64() {
                    Some(f) if f.fract() == 0.0 => {
                        Ok(Some(if f < 0.0 { i64::MIN } else { i64::MAX }))
                    }
                    _ => Err(not_whole()),
                }
            }
            Some(_) => Err(not_whole()),
        }
    }

    pub fn strings(&mut self, name: &str) -> Result<Option<Vec<String>>, ApiError> {
        let bad = || {
            ApiError::field(
                name,
                "invalid_type",
                format!("{name} must be a list of strings"),
            )
        };
        match self.0.remove(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => {
                let strings = items.into_iter().map(|v| match v {
                    Value::String(s) => Ok(s),
                    _ => Err(bad()),
                });
                strings.collect::<Result<_, _>>().map(Some)
            }
            Some(_) => Err(bad()),
        }
    }

    /// Refuse unknown fields, naming the first.
    pub fn finish(self, known: &str) -> Result<(), ApiError> {
        match self.0.keys().next() {
            Some(k) => Err(ApiError::field(
                k.chars().take(64).collect::<String>(),
                "unknown_field",
                format!(
                    "unknown field {:?}; known fields: {known}",
                    k.chars().take(64).collect::<String>()
                ),
            )),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(v: Value) -> Fields {
        match v {
            Value::Object(m) => Fields(m),
            _ => panic!("object"),
        }
    }

    #[test]
    fn numbers_are_whole_or_refused_by_name() {
        let mut f = fields(
            serde_json::json!({"a": -3, "b": 1e300, "c": 2.5, "d": "4", "e": 18446744073709551615u64}),
        );
        assert_eq!(f.integer("a").unwrap(), Some(-3));
        assert_eq!(f.integer("b").unwrap(), Some(i64::MAX));
        assert_eq!(f.integer("c").unwrap_err().field.as_deref(), Some("c"));
        assert_eq!(f.integer("d").unwrap_err().field.as_deref(), Some("d"));
        assert_eq!(f.integer("e").unwrap(), Some(i64::MAX));
        assert_eq!(f.integer("missing").unwrap(), None);
    }

    #[test]
    fn leftover_fields_are_named() {
        let f = fields(serde_json::json!({"huors": 3}));
        let e = f.finish("task, reason, hours").unwrap_err();
        assert_eq!(
            (e.field.as_deref(), e.code),
            (Some("huors"), "unknown_field")
        );
    }
}
