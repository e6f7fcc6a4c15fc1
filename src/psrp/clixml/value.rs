//! The CLIXML value tree.

use std::rc::Rc;

/// One deserialized value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `<Nil/>`.
    Nil,
    /// `<B>`.
    Bool(bool),
    /// `<SB>`, `<I16>`, `<I32>`, `<I64>`, `<By>`, `<U16>`, `<U32>`.
    Int(i64),
    /// `<U64>`.
    UInt(u64),
    /// `<Sg>`, `<Db>`.
    Float(f64),
    /// `<S>`, unescaped.
    Str(String),
    /// Other primitives kept as their text: `DT`, `TS`, `G`, `URI`, `Version`, `XD`, `D`, `BA`,
    /// and `C` converted to the character.
    Typed { tag: &'static str, text: String },
    /// `<SBK>`: script block text.
    ScriptBlock(String),
    /// `<SS>`: an encrypted SecureString; the content is dropped on purpose.
    SecureString,
    /// `<Obj>`, or a `<Ref>` to one (shared, not copied).
    Obj(Rc<Obj>),
}

/// A complex object.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Obj {
    /// Type names, most derived first (`TN` or resolved `TNRef`).
    pub type_names: Rc<[String]>,
    /// `<ToString>`.
    pub to_string: Option<String>,
    /// A primitive payload (enums carry their `I32` here).
    pub value: Option<Value>,
    /// `<Props>`: adapted properties.
    pub props: Vec<(String, Value)>,
    /// `<MS>`: extended (note) properties.
    pub members: Vec<(String, Value)>,
    /// `LST`/`IE`/`STK`/`QUE` or `DCT`.
    pub container: Option<Container>,
    /// Set by the reader when any value inside is a script block.
    pub script_block: bool,
}

/// The collection an object holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Container {
    /// `LST`, `IE`, `STK`, `QUE`.
    List(Vec<Value>),
    /// `DCT`: key/value entries in order.
    Dict(Vec<(Value, Value)>),
}

impl Obj {
    /// The extended property `name` (case-insensitive like PowerShell's lookup).
    pub fn member(&self, name: &str) -> Option<&Value> {
        find(&self.members, name)
    }

    /// The adapted property `name` (case-insensitive).
    pub fn prop(&self, name: &str) -> Option<&Value> {
        find(&self.props, name)
    }

    /// The list elements, if the object holds a list.
    pub fn list(&self) -> Option<&[Value]> {
        match &self.container {
            Some(Container::List(items)) => Some(items),
            _ => None,
        }
    }

    /// Whether `type_name` is one of the object's type names.
    pub fn is_type(&self, type_name: &str) -> bool {
        self.type_names.iter().any(|t| t == type_name)
    }
}

fn find<'a>(entries: &'a [(String, Value)], name: &str) -> Option<&'a Value> {
    entries
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

impl Value {
    /// The object, when this is one.
    pub fn as_obj(&self) -> Option<&Obj> {
        match self {
            Value::Obj(o) => Some(o),
            _ => None,
        }
    }

    /// Whether a script block appears anywhere in this value.
    pub fn has_script_block(&self) -> bool {
        match self {
            Value::ScriptBlock(_) => true,
            Value::Obj(o) => o.has_script_block(),
            _ => false,
        }
    }
}

impl Obj {
    /// Whether a script block appears anywhere inside (computed once while reading, so a
    /// deeply shared `<Ref>` graph is never walked).
    pub fn has_script_block(&self) -> bool {
        self.script_block
    }
}
