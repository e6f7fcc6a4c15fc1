//! JSON read strictly: an object key given twice, even differing only by case, is refused
//! (the admin API treats keys case-insensitively, so `Identity` and `identity` would otherwise
//! let the gateway and the endpoint pick different values). Key order is kept.

use crate::inspect::error::{InspectError, Layer};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// A JSON value with object keys in document order.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    /// Look a key up ignoring ASCII case (keys are unique that way).
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(entries) => entries
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }

    /// Into a `serde_json::Value`, dropping OData annotation keys (`@odata.type`, `x@odata.type`).
    pub fn into_value(self) -> serde_json::Value {
        match self {
            Json::Null => serde_json::Value::Null,
            Json::Bool(b) => serde_json::Value::Bool(b),
            Json::Number(n) => serde_json::Value::Number(n),
            Json::String(s) => serde_json::Value::String(s),
            Json::Array(a) => {
                serde_json::Value::Array(a.into_iter().map(Json::into_value).collect())
            }
            Json::Object(entries) => serde_json::Value::Object(
                entries
                    .into_iter()
                    .filter(|(k, _)| !is_annotation(k))
                    .map(|(k, v)| (k, v.into_value()))
                    .collect(),
            ),
        }
    }
}

/// OData annotation keys contain `@` (`@odata.type`, `Param@odata.type`).
pub fn is_annotation(key: &str) -> bool {
    key.contains('@')
}

/// Parse strictly (see the module docs).
pub fn parse(bytes: &[u8], layer: Layer) -> Result<Json, InspectError> {
    serde_json::from_slice(bytes).map_err(|e| InspectError::malformed(layer, "JSON", e.to_string()))
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Json, E> {
        Ok(Json::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Json, E> {
        Ok(Json::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Json, E> {
        Ok(Json::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Json, E> {
        serde_json::Number::from_f64(v)
            .map(Json::Number)
            .ok_or_else(|| E::custom("number out of range"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Json, E> {
        Ok(Json::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Json, E> {
        Ok(Json::String(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element()? {
            out.push(v);
        }
        Ok(Json::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut out: Vec<(String, Json)> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.iter().any(|(k, _)| k.eq_ignore_ascii_case(&key)) {
                return Err(de::Error::custom(format!(
                    "key {key:?} given twice (keys ignore case); refusing to pick one"
                )));
            }
            let value = map.next_value()?;
            out.push((key, value));
        }
        Ok(Json::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_key_order_and_types() {
        let j = parse(br#"{"b":1,"a":[true,null,"x",1.5]}"#, Layer::Rest).unwrap();
        let Json::Object(entries) = &j else { panic!() };
        assert_eq!(entries[0].0, "b");
        assert_eq!(
            j.get("A").unwrap().clone().into_value(),
            serde_json::json!([true, null, "x", 1.5])
        );
    }

    #[test]
    fn duplicate_keys_differing_by_case_are_refused() {
        let e = parse(br#"{"Identity":"a","identity":"b"}"#, Layer::Rest).unwrap_err();
        assert!(e.to_string().contains("given twice"), "{e}");
        assert!(parse(br#"{"x":{"k":1,"k":2}}"#, Layer::Rest).is_err());
    }

    #[test]
    fn annotations_are_dropped_from_values() {
        let j = parse(
            br##"{"@odata.type":"#Exchange.GenericHashTable","add":"x"}"##,
            Layer::Rest,
        )
        .unwrap();
        assert_eq!(j.into_value(), serde_json::json!({"add":"x"}));
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(parse(deep.as_bytes(), Layer::Rest).is_err());
    }
}
