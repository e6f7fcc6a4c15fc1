//! CLIXML (MS-PSRP §2.2.5): PowerShell's object serialization, read into a value tree.
//!
//! [`parse`] reads one serialized value (the data of a PSRP message) with `<Ref>` and `<TNRef>`
//! resolved and `_xHHHH_` escapes decoded. Secure strings never keep their content. Every
//! element is one the reader understands or the document is refused.

mod reader;
mod value;

pub use reader::parse;
pub use value::{Container, Obj, Value};

/// CLIXML shape limits (from `[inspect]`).
#[derive(Debug, Clone, Copy)]
pub struct ClixmlLimits {
    /// `inspect.max_xml_depth`: element nesting depth. The reader recurses once per level, so
    /// this also bounds its stack use.
    pub max_depth: usize,
    /// `inspect.max_xml_attributes`: attributes on one element.
    pub max_attributes: usize,
    /// `inspect.max_clixml_objects`: value elements (objects and primitives) in one document.
    pub max_objects: usize,
    /// `inspect.max_clixml_refs`: `<Ref>` elements in one document.
    pub max_refs: usize,
}

impl ClixmlLimits {
    /// The CLIXML limits of an `[inspect]` section.
    pub fn from_config(l: &crate::config::InspectLimits) -> Self {
        ClixmlLimits {
            max_depth: l.max_xml_depth,
            max_attributes: l.max_xml_attributes,
            max_objects: l.max_clixml_objects,
            max_refs: l.max_clixml_refs,
        }
    }
}
