//! CLIXML values into typed JSON for the [`crate::invocation::Invocation`].
//!
//! Shared `<Ref>` graphs could expand exponentially, so conversion spends a budget of JSON nodes
//! (`inspect.max_clixml_objects`) and stops with a limit error when it runs out.

use crate::inspect::error::{InspectError, Layer};
use crate::invocation::REDACTED;
use crate::psrp::clixml::{Container, Obj, Value};
use serde_json::{Map, Value as Json};

const SWITCH_PARAMETER: &str = "System.Management.Automation.SwitchParameter";

/// Converts values while counting the JSON nodes produced.
pub struct ToJson {
    budget: usize,
    max: usize,
}

impl ToJson {
    /// A converter that may produce at most `max` JSON nodes in total.
    pub fn new(max: usize) -> Self {
        ToJson { budget: max, max }
    }

    /// Convert one value.
    pub fn convert(&mut self, v: &Value) -> Result<Json, InspectError> {
        self.spend()?;
        Ok(match v {
            Value::Nil => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Int(i) => Json::from(*i),
            Value::UInt(u) => Json::from(*u),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(Json::Number)
                .unwrap_or_else(|| Json::String(f.to_string())),
            Value::Str(s) | Value::ScriptBlock(s) => Json::String(s.clone()),
            Value::Typed { text, .. } => Json::String(text.clone()),
            Value::SecureString => Json::String(REDACTED.to_owned()),
            Value::Obj(o) => self.obj(o)?,
        })
    }

    /// Objects: a switch is its `IsPresent`; a collection is an array or object; an enum or a
    /// deserialized object is its `ToString` (the identity Exchange binds); a property bag is an
    /// object of its properties.
    fn obj(&mut self, o: &Obj) -> Result<Json, InspectError> {
        if o.is_type(SWITCH_PARAMETER) {
            return Ok(Json::Bool(!matches!(
                o.prop("IsPresent").or(o.member("IsPresent")),
                Some(Value::Bool(false))
            )));
        }
        match &o.container {
            Some(Container::List(items)) => {
                return items
                    .iter()
                    .map(|i| self.convert(i))
                    .collect::<Result<_, _>>()
                    .map(Json::Array)
            }
            Some(Container::Dict(entries)) => return self.dict(entries),
            None => {}
        }
        if let Some(s) = &o.to_string {
            return Ok(Json::String(s.clone()));
        }
        if let Some(v) = &o.value {
            return self.convert(v);
        }
        let mut map = Map::new();
        for (name, value) in o.props.iter().chain(o.members.iter()) {
            let json = self.named(name, value)?;
            map.insert(name.clone(), json);
        }
        Ok(Json::Object(map))
    }

    /// A value stored under `name`, redacted when the name marks a secret.
    pub fn named(&mut self, name: &str, value: &Value) -> Result<Json, InspectError> {
        if crate::inspect::redact::is_secret_parameter(name) && !matches!(value, Value::Nil) {
            self.spend()?;
            return Ok(Json::String(REDACTED.to_owned()));
        }
        self.convert(value)
    }

    /// A hashtable: keys are compared ignoring case like PowerShell's; two equal keys are refused.
    fn dict(&mut self, entries: &[(Value, Value)]) -> Result<Json, InspectError> {
        let mut map = Map::new();
        for (k, v) in entries {
            let key = match self.convert(k)? {
                Json::String(s) => s,
                other => other.to_string(),
            };
            if map
                .keys()
                .any(|existing| existing.eq_ignore_ascii_case(&key))
            {
                return Err(InspectError::malformed(
                    Layer::Pipeline,
                    format!("hashtable key {key:?}"),
                    "given twice (keys ignore case); refusing to pick one",
                ));
            }
            let value = self.named(&key, v)?;
            map.insert(key, value);
        }
        Ok(Json::Object(map))
    }

    fn spend(&mut self) -> Result<(), InspectError> {
        self.budget = self.budget.checked_sub(1).ok_or_else(|| {
            InspectError::limit(
                Layer::Pipeline,
                "max_clixml_objects",
                self.max,
                "values expand to too many JSON nodes (shared <Ref> graph?)",
            )
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::psrp::clixml::{parse, ClixmlLimits};
    use serde_json::json;

    const LIMITS: ClixmlLimits = ClixmlLimits {
        max_depth: 64,
        max_attributes: 32,
        max_objects: 10_000,
        max_refs: 10_000,
    };

    fn json_of(xml: &str) -> Result<Json, InspectError> {
        let v = parse(xml.as_bytes(), &LIMITS).unwrap();
        ToJson::new(1000).convert(&v)
    }

    #[test]
    fn primitives_keep_their_type() {
        assert_eq!(json_of("<I32>1000</I32>").unwrap(), json!(1000));
        assert_eq!(json_of("<B>false</B>").unwrap(), json!(false));
        assert_eq!(json_of("<S>x</S>").unwrap(), json!("x"));
        assert_eq!(json_of("<Nil/>").unwrap(), json!(null));
        assert_eq!(json_of("<SS>abc</SS>").unwrap(), json!(REDACTED));
    }

    #[test]
    fn switch_parameter_object_is_its_is_present() {
        let xml = r#"<Obj RefId="16"><TN RefId="2"><T>System.Management.Automation.SwitchParameter</T><T>System.ValueType</T></TN><ToString>True</ToString><Props><B N="IsPresent">true</B></Props></Obj>"#;
        assert_eq!(json_of(xml).unwrap(), json!(true));
        assert_eq!(
            json_of(&xml.replace(">true<", ">false<")).unwrap(),
            json!(false)
        );
    }

    #[test]
    fn arrays_hashtables_and_enums() {
        let arr = r#"<Obj RefId="0"><TN RefId="0"><T>System.Object[]</T></TN><LST><S>a</S><I32>2</I32></LST></Obj>"#;
        assert_eq!(json_of(arr).unwrap(), json!(["a", 2]));
        let ht = r#"<Obj RefId="0"><DCT><En><S N="Key">add</S><S N="Value">x</S></En><En><S N="Key">Password</S><S N="Value">p</S></En></DCT></Obj>"#;
        assert_eq!(
            json_of(ht).unwrap(),
            json!({"add": "x", "Password": REDACTED})
        );
        let en = r#"<Obj RefId="0"><TN RefId="0"><T>E</T></TN><ToString>Unlimited</ToString><I32>2</I32></Obj>"#;
        assert_eq!(json_of(en).unwrap(), json!("Unlimited"));
    }

    #[test]
    fn hashtable_keys_differing_by_case_are_refused() {
        let ht = r#"<Obj RefId="0"><DCT><En><S N="Key">a</S><S N="Value">x</S></En><En><S N="Key">A</S><S N="Value">y</S></En></DCT></Obj>"#;
        assert!(json_of(ht).unwrap_err().to_string().contains("given twice"));
    }

    #[test]
    fn property_bag_redacts_secret_names() {
        let cred = r#"<Obj RefId="0"><TN RefId="0"><T>System.Management.Automation.PSCredential</T></TN><Props><S N="UserName">u</S><S N="Password">clear</S></Props></Obj>"#;
        assert_eq!(
            json_of(cred).unwrap(),
            json!({"UserName": "u", "Password": REDACTED})
        );
    }

    #[test]
    fn budget_stops_ref_expansion() {
        let mut doc = String::from("<Obj RefId=\"r0\"><LST><S>x</S></LST></Obj>");
        for i in 1..30 {
            doc = format!(
                "<Obj RefId=\"r{i}\"><LST>{doc}<Ref RefId=\"r{p}\"/></LST></Obj>",
                p = i - 1
            );
        }
        let limits = ClixmlLimits {
            max_depth: 200,
            ..LIMITS
        };
        let v = parse(doc.as_bytes(), &limits).unwrap();
        let e = ToJson::new(10_000).convert(&v).unwrap_err();
        assert_eq!(e.limit_name(), Some("max_clixml_objects"));
    }
}
