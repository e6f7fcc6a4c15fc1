//! Hardened XML reading shared by the SOAP envelope and CLIXML parsers.
//!
//! Both documents are attacker-controlled, so: no DTDs (no entity expansion), only the five
//! predefined entities and character references, a nesting-depth cap and an attribute-count cap.
//! Text is returned borrowed from the input whenever it holds no entity references.

use crate::inspect::error::{InspectError, Layer};
use quick_xml::events::{BytesRef, BytesStart, BytesText};
use quick_xml::name::ResolveResult;
use std::borrow::Cow;

/// The XML shape limits a parser enforces (from `[inspect]`).
#[derive(Debug, Clone, Copy)]
pub struct XmlLimits {
    /// `inspect.max_xml_depth`: element nesting depth.
    pub max_depth: usize,
    /// `inspect.max_xml_attributes`: attributes on one element.
    pub max_attributes: usize,
}

/// The namespace URI of a resolved name, or `None` when unbound; an undeclared prefix is an error.
pub fn namespace_of<'a>(
    r: &'a ResolveResult<'_>,
    layer: Layer,
) -> Result<Option<&'a [u8]>, InspectError> {
    match r {
        ResolveResult::Bound(ns) => Ok(Some(ns.as_ref())),
        ResolveResult::Unbound => Ok(None),
        ResolveResult::Unknown(prefix) => Err(InspectError::malformed(
            layer,
            "namespace",
            format!("undeclared prefix {:?}", String::from_utf8_lossy(prefix)),
        )),
    }
}

/// Check a start tag against the depth (the depth it opens) and attribute limits.
pub fn check_start(
    e: &BytesStart<'_>,
    depth: usize,
    limits: &XmlLimits,
    layer: Layer,
) -> Result<(), InspectError> {
    if depth > limits.max_depth {
        return Err(InspectError::limit(
            layer,
            "max_xml_depth",
            limits.max_depth,
            format!("element <{}> is nested {depth} deep", name_str(e)),
        ));
    }
    // Every attribute takes at least 4 bytes (`a=""`), so short attribute text cannot exceed
    // the limit and is not counted (the hot path stays one length check).
    if e.attributes_raw().len() < 4 * (limits.max_attributes + 1) {
        return Ok(());
    }
    let count = e.attributes().with_checks(false).count();
    if count > limits.max_attributes {
        return Err(InspectError::limit(
            layer,
            "max_xml_attributes",
            limits.max_attributes,
            format!("element <{}> has {count} attributes", name_str(e)),
        ));
    }
    Ok(())
}

/// The element's qualified name, for error messages.
pub fn name_str(e: &BytesStart<'_>) -> String {
    String::from_utf8_lossy(e.name().as_ref()).into_owned()
}

/// The unescaped value of the unprefixed attribute `name`; an error if it appears twice.
pub fn attribute<'a>(
    e: &'a BytesStart<'_>,
    name: &[u8],
    layer: Layer,
) -> Result<Option<Cow<'a, str>>, InspectError> {
    let mut found: Option<Cow<'a, str>> = None;
    for attr in e.attributes() {
        let attr = attr.map_err(|err| {
            InspectError::malformed(layer, name_str(e), format!("bad attribute: {err}"))
        })?;
        if attr.key.local_name().as_ref() != name {
            continue;
        }
        if attr.key.prefix().is_some_and(|p| p.as_ref() == b"xmlns") {
            continue;
        }
        if found.is_some() {
            return Err(InspectError::malformed(
                layer,
                format!("{}@{}", name_str(e), String::from_utf8_lossy(name)),
                "attribute given twice (with different prefixes); refusing to pick one",
            ));
        }
        let value = attr
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|err| {
                InspectError::malformed(layer, String::from_utf8_lossy(name), err.to_string())
            })?;
        found = Some(value);
    }
    Ok(found)
}

/// Accumulates the text content of one element across Text, CDATA and entity events.
#[derive(Debug, Default)]
pub struct TextAcc<'i> {
    value: Option<Cow<'i, str>>,
}

impl<'i> TextAcc<'i> {
    pub fn push_str(&mut self, s: Cow<'i, str>) {
        match &mut self.value {
            None => self.value = Some(s),
            Some(v) => v.to_mut().push_str(&s),
        }
    }

    pub fn push_text(&mut self, t: BytesText<'i>, layer: Layer) -> Result<(), InspectError> {
        let s = t
            .xml10_content()
            .map_err(|e| InspectError::malformed(layer, "text", e.to_string()))?;
        self.push_str(s);
        Ok(())
    }

    /// Resolve `&name;` or `&#N;`; anything but the five predefined entities is refused.
    pub fn push_ref(&mut self, r: BytesRef<'_>, layer: Layer) -> Result<(), InspectError> {
        if let Some(c) = r
            .resolve_char_ref()
            .map_err(|e| InspectError::malformed(layer, "character reference", e.to_string()))?
        {
            let mut buf = [0u8; 4];
            self.push_str(Cow::Owned(c.encode_utf8(&mut buf).to_owned()));
            return Ok(());
        }
        let name = r
            .decode()
            .map_err(|e| InspectError::malformed(layer, "entity reference", e.to_string()))?;
        let resolved = quick_xml::escape::resolve_xml_entity(&name).ok_or_else(|| {
            InspectError::malformed(
                layer,
                "entity reference",
                format!("&{name}; is not one of the five predefined XML entities"),
            )
        })?;
        self.push_str(Cow::Borrowed(resolved));
        Ok(())
    }

    pub fn take(&mut self) -> Cow<'i, str> {
        self.value.take().unwrap_or(Cow::Borrowed(""))
    }

    pub fn is_empty(&self) -> bool {
        self.value.as_ref().is_none_or(|v| v.is_empty())
    }
}

/// Convert a quick-xml error into an `InspectError` with the byte position.
pub fn syntax_error(layer: Layer, err: quick_xml::Error, position: u64) -> InspectError {
    InspectError::malformed(layer, format!("XML at byte {position}"), err.to_string())
}

/// A DOCTYPE is refused outright: it is the door to entity expansion.
pub fn doctype_error(layer: Layer) -> InspectError {
    InspectError::malformed(layer, "DOCTYPE", "DTDs are not allowed in this document")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_stays_borrowed_without_entities() {
        let mut acc = TextAcc::default();
        acc.push_str(Cow::Borrowed("abc"));
        assert!(matches!(acc.take(), Cow::Borrowed("abc")));
    }

    #[test]
    fn predefined_entities_and_char_refs_resolve() {
        let mut acc = TextAcc::default();
        acc.push_str(Cow::Borrowed("a"));
        acc.push_ref(BytesRef::new("amp"), Layer::Envelope).unwrap();
        acc.push_ref(BytesRef::new("#x41"), Layer::Envelope)
            .unwrap();
        assert_eq!(acc.take(), "a&A");
    }

    #[test]
    fn other_entities_are_refused() {
        let mut acc = TextAcc::default();
        let e = acc
            .push_ref(BytesRef::new("xxe"), Layer::Clixml)
            .unwrap_err();
        assert!(e.to_string().contains("&xxe;"), "{e}");
    }
}
