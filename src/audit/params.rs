//! Named parameters written as one JSON object, in the order they were sent.
//!
//! A JSON object reads best for a person (`{"Identity":"bob","Password":"[redacted]"}`), but a
//! map type would sort or merge names. This list keeps the wire order and repeated names, so
//! the record shows exactly what the client sent.

use crate::invocation::Value;
use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// `(name, value)` pairs in wire order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params(pub Vec<(String, Value)>);

impl Params {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The first value given for `name`, case-insensitively.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }
}

impl Serialize for Params {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, value) in &self.0 {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Params {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ParamsVisitor)
    }
}

struct ParamsVisitor;

impl<'de> Visitor<'de> for ParamsVisitor {
    type Value = Params;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an object of parameter names to values")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Params, A::Error> {
        let mut pairs = Vec::new();
        while let Some((name, value)) = access.next_entry::<String, Value>()? {
            pairs.push((name, value));
        }
        Ok(Params(pairs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn order_and_repeated_names_survive_a_round_trip() {
        let p = Params(vec![
            ("Zeta".into(), json!(1)),
            ("Alpha".into(), json!("a")),
            ("Zeta".into(), json!(true)),
        ]);
        let text = serde_json::to_string(&p).unwrap();
        assert_eq!(text, r#"{"Zeta":1,"Alpha":"a","Zeta":true}"#);
        let back: Params = serde_json::from_str(&text).unwrap();
        assert_eq!(back, p);
        assert_eq!(back.get("zeta"), Some(&json!(1)));
    }
}
