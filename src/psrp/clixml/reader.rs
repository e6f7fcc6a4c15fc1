//! The CLIXML reader: recursive descent over quick-xml events, one function per element kind.

use super::value::{Container, Obj, Value};
use super::ClixmlLimits;
use crate::inspect::error::{InspectError, Layer};
use crate::inspect::xml::{self, TextAcc, XmlLimits};
use crate::psrp::escape;
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use std::borrow::Cow;
use std::collections::HashMap;
use std::rc::Rc;

const L: Layer = Layer::Clixml;

/// Parse one serialized value (the whole document must be exactly one value element).
pub fn parse(data: &[u8], limits: &ClixmlLimits) -> Result<Value, InspectError> {
    let text = std::str::from_utf8(data)
        .map_err(|e| InspectError::malformed(L, "encoding", format!("not UTF-8: {e}")))?;
    let mut cx = Cx {
        reader: Reader::from_str(text),
        limits: *limits,
        xml_limits: XmlLimits {
            max_depth: limits.max_depth,
            max_attributes: limits.max_attributes,
        },
        depth: 0,
        objects: 0,
        refs: 0,
        objs: HashMap::new(),
        type_names: HashMap::new(),
    };
    let root = match cx.next()? {
        Ev::Start(e) => cx.value(&e, false)?.1,
        Ev::Empty(e) => cx.value(&e, true)?.1,
        Ev::End => {
            return Err(InspectError::malformed(
                L,
                "document",
                "end tag before any value",
            ))
        }
        Ev::Eof => return Err(InspectError::malformed(L, "document", "empty: no value")),
    };
    match cx.next()? {
        Ev::Eof => Ok(root),
        _ => Err(InspectError::malformed(
            L,
            "document",
            "more than one root value",
        )),
    }
}

/// A structural event (text is handled by [`Cx::text_content`]).
enum Ev<'i> {
    Start(BytesStart<'i>),
    Empty(BytesStart<'i>),
    End,
    Eof,
}

struct Cx<'i> {
    reader: Reader<&'i [u8]>,
    limits: ClixmlLimits,
    xml_limits: XmlLimits,
    /// Open elements.
    depth: usize,
    /// Value elements read so far (`max_clixml_objects`).
    objects: usize,
    /// `<Ref>` elements read so far (`max_clixml_refs`).
    refs: usize,
    /// `Obj` RefId -> the finished object.
    objs: HashMap<String, Rc<Obj>>,
    /// `TN` RefId -> type names.
    type_names: HashMap<String, Rc<[String]>>,
}

impl<'i> Cx<'i> {
    /// The next structural event; whitespace is skipped, other text outside a primitive refused.
    fn next(&mut self) -> Result<Ev<'i>, InspectError> {
        loop {
            let position = self.reader.buffer_position();
            let event = self
                .reader
                .read_event()
                .map_err(|e| xml::syntax_error(L, e, position))?;
            match event {
                Event::Start(e) => {
                    self.depth += 1;
                    xml::check_start(&e, self.depth, &self.xml_limits, L)?;
                    return Ok(Ev::Start(e));
                }
                Event::Empty(e) => {
                    xml::check_start(&e, self.depth + 1, &self.xml_limits, L)?;
                    return Ok(Ev::Empty(e));
                }
                Event::End(_) => {
                    self.depth = self.depth.saturating_sub(1);
                    return Ok(Ev::End);
                }
                Event::Eof => return Ok(Ev::Eof),
                Event::Text(t) if t.iter().all(u8::is_ascii_whitespace) => {}
                Event::Text(_) | Event::CData(_) | Event::GeneralRef(_) => {
                    return Err(InspectError::malformed(
                        L,
                        format!("XML at byte {position}"),
                        "text where only elements are allowed",
                    ))
                }
                Event::DocType(_) => return Err(xml::doctype_error(L)),
                Event::Comment(_) | Event::Decl(_) | Event::PI(_) => {}
            }
        }
    }

    /// The text of the element just opened, up to its end tag (no child elements allowed).
    fn text_content(&mut self, empty: bool, tag: &str) -> Result<Cow<'i, str>, InspectError> {
        let mut acc = TextAcc::default();
        if empty {
            return Ok(acc.take());
        }
        loop {
            let position = self.reader.buffer_position();
            let event = self
                .reader
                .read_event()
                .map_err(|e| xml::syntax_error(L, e, position))?;
            match event {
                Event::Text(t) => acc.push_text(t, L)?,
                Event::GeneralRef(r) => acc.push_ref(r, L)?,
                Event::CData(c) => {
                    let s = String::from_utf8_lossy(&c.into_inner()).into_owned();
                    acc.push_str(Cow::Owned(s));
                }
                Event::End(_) => {
                    self.depth = self.depth.saturating_sub(1);
                    return Ok(acc.take());
                }
                Event::Comment(_) | Event::PI(_) => {}
                Event::DocType(_) => return Err(xml::doctype_error(L)),
                Event::Start(_) | Event::Empty(_) | Event::Decl(_) | Event::Eof => {
                    return Err(InspectError::malformed(
                        L,
                        tag,
                        "expected only text up to the end tag",
                    ))
                }
            }
        }
    }

    /// Read a value element whose start tag was just read; returns its `N` name and the value.
    fn value(
        &mut self,
        e: &BytesStart<'i>,
        empty: bool,
    ) -> Result<(Option<String>, Value), InspectError> {
        self.objects += 1;
        if self.objects > self.limits.max_objects {
            return Err(InspectError::limit(
                L,
                "max_clixml_objects",
                self.limits.max_objects,
                "too many values in one message",
            ));
        }
        let name = xml::attribute(e, b"N", L)?.map(|n| escape::decode(&n).into_owned());
        let tag = e.name();
        let value = match tag.as_ref() {
            b"Obj" => self.obj(e, empty)?,
            b"Ref" => self.reference(e, empty)?,
            b"Nil" => {
                self.text_content(empty, "Nil")?;
                Value::Nil
            }
            b"SS" => {
                self.text_content(empty, "SS")?;
                Value::SecureString
            }
            other => {
                let tag = primitive_tag(other).ok_or_else(|| {
                    InspectError::unsupported(
                        L,
                        String::from_utf8_lossy(other),
                        "CLIXML element not understood",
                    )
                })?;
                let text = self.text_content(empty, tag)?;
                primitive(tag, &text)?
            }
        };
        Ok((name, value))
    }

    fn reference(&mut self, e: &BytesStart<'i>, empty: bool) -> Result<Value, InspectError> {
        self.refs += 1;
        if self.refs > self.limits.max_refs {
            return Err(InspectError::limit(
                L,
                "max_clixml_refs",
                self.limits.max_refs,
                "too many <Ref> elements in one message",
            ));
        }
        let id = ref_id(e, "Ref")?;
        self.text_content(empty, "Ref")?;
        let obj = self.objs.get(id.as_ref()).ok_or_else(|| {
            InspectError::malformed(
                L,
                "Ref",
                format!("RefId {id:?} refers to no earlier object"),
            )
        })?;
        Ok(Value::Obj(Rc::clone(obj)))
    }

    fn obj(&mut self, e: &BytesStart<'i>, empty: bool) -> Result<Value, InspectError> {
        let id = xml::attribute(e, b"RefId", L)?.map(Cow::into_owned);
        let mut obj = Obj::default();
        let mut seen_tn = false;
        if !empty {
            loop {
                let (child, child_empty) = match self.next()? {
                    Ev::Start(c) => (c, false),
                    Ev::Empty(c) => (c, true),
                    Ev::End => break,
                    Ev::Eof => return Err(InspectError::malformed(L, "Obj", "truncated")),
                };
                self.obj_child(&mut obj, &mut seen_tn, &child, child_empty)?;
            }
        }
        let obj = Rc::new(obj);
        if let Some(id) = id {
            if self.objs.insert(id.clone(), Rc::clone(&obj)).is_some() {
                return Err(InspectError::malformed(
                    L,
                    "Obj@RefId",
                    format!("RefId {id:?} defined twice"),
                ));
            }
        }
        Ok(Value::Obj(obj))
    }

    fn obj_child(
        &mut self,
        obj: &mut Obj,
        seen_tn: &mut bool,
        c: &BytesStart<'i>,
        empty: bool,
    ) -> Result<(), InspectError> {
        match c.name().as_ref() {
            b"TN" | b"TNRef" => {
                once(seen_tn, "TN")?;
                obj.type_names = self.type_names(c, empty)?;
            }
            b"ToString" => {
                let text = self.text_content(empty, "ToString")?;
                set_once(
                    &mut obj.to_string,
                    escape::decode(&text).into_owned(),
                    "ToString",
                )?;
            }
            b"Props" | b"MS" => {
                let members = self.members(empty)?;
                obj.script_block |= members.iter().any(|(_, v)| v.has_script_block());
                let slot = if c.name().as_ref() == b"MS" {
                    &mut obj.members
                } else {
                    &mut obj.props
                };
                if !slot.is_empty() {
                    return Err(InspectError::malformed(
                        L,
                        xml::name_str(c),
                        "given twice in one Obj",
                    ));
                }
                *slot = members;
            }
            b"LST" | b"IE" | b"STK" | b"QUE" => {
                let items = self.list(empty)?;
                obj.script_block |= items.iter().any(Value::has_script_block);
                set_once(&mut obj.container, Container::List(items), "container")?;
            }
            b"DCT" => {
                let entries = self.dict(empty)?;
                obj.script_block |= entries
                    .iter()
                    .any(|(k, v)| k.has_script_block() || v.has_script_block());
                set_once(&mut obj.container, Container::Dict(entries), "container")?;
            }
            _ => {
                let (_, v) = self.value(c, empty)?;
                obj.script_block |= v.has_script_block();
                set_once(&mut obj.value, v, "primitive value")?;
            }
        }
        Ok(())
    }

    fn type_names(
        &mut self,
        e: &BytesStart<'i>,
        empty: bool,
    ) -> Result<Rc<[String]>, InspectError> {
        let id = ref_id(e, "TN")?.into_owned();
        if e.name().as_ref() == b"TNRef" {
            self.text_content(empty, "TNRef")?;
            return self.type_names.get(&id).cloned().ok_or_else(|| {
                InspectError::malformed(L, "TNRef", format!("RefId {id:?} refers to no earlier TN"))
            });
        }
        let mut names = Vec::new();
        if !empty {
            loop {
                match self.next()? {
                    Ev::Start(t) if t.name().as_ref() == b"T" => {
                        self.count_object()?;
                        let text = self.text_content(false, "T")?;
                        names.push(escape::decode(&text).into_owned());
                    }
                    Ev::End => break,
                    _ => {
                        return Err(InspectError::malformed(
                            L,
                            "TN",
                            "only <T> elements allowed",
                        ))
                    }
                }
            }
        }
        let names: Rc<[String]> = names.into();
        if self
            .type_names
            .insert(id.clone(), Rc::clone(&names))
            .is_some()
        {
            return Err(InspectError::malformed(
                L,
                "TN@RefId",
                format!("RefId {id:?} defined twice"),
            ));
        }
        Ok(names)
    }

    /// `Props` or `MS`: named values; a name given twice (ignoring case) is refused.
    fn members(&mut self, empty: bool) -> Result<Vec<(String, Value)>, InspectError> {
        let mut out: Vec<(String, Value)> = Vec::new();
        for (name, value) in self.children(empty)? {
            let name = name.ok_or_else(|| {
                InspectError::malformed(L, "MS", "a property without an N attribute")
            })?;
            if out.iter().any(|(n, _)| n.eq_ignore_ascii_case(&name)) {
                return Err(InspectError::malformed(
                    L,
                    format!("MS/{name}"),
                    "property given twice; refusing to pick one",
                ));
            }
            out.push((name, value));
        }
        Ok(out)
    }

    fn list(&mut self, empty: bool) -> Result<Vec<Value>, InspectError> {
        Ok(self.children(empty)?.into_iter().map(|(_, v)| v).collect())
    }

    /// Value elements up to the current end tag.
    fn children(&mut self, empty: bool) -> Result<Vec<(Option<String>, Value)>, InspectError> {
        let mut out = Vec::new();
        if !empty {
            loop {
                match self.next()? {
                    Ev::Start(c) => out.push(self.value(&c, false)?),
                    Ev::Empty(c) => out.push(self.value(&c, true)?),
                    Ev::End => break,
                    Ev::Eof => return Err(InspectError::malformed(L, "document", "truncated")),
                }
            }
        }
        Ok(out)
    }

    fn dict(&mut self, empty: bool) -> Result<Vec<(Value, Value)>, InspectError> {
        let mut out = Vec::new();
        if !empty {
            loop {
                match self.next()? {
                    Ev::Start(en) if en.name().as_ref() == b"En" => out.push(self.entry()?),
                    Ev::End => break,
                    _ => {
                        return Err(InspectError::malformed(
                            L,
                            "DCT",
                            "only <En> entries allowed",
                        ))
                    }
                }
            }
        }
        Ok(out)
    }

    fn entry(&mut self) -> Result<(Value, Value), InspectError> {
        let (mut key, mut value) = (None, None);
        for (name, v) in self.children(false)? {
            match name.as_deref() {
                Some("Key") => set_once(&mut key, v, "En/Key")?,
                Some("Value") => set_once(&mut value, v, "En/Value")?,
                _ => {
                    return Err(InspectError::malformed(
                        L,
                        "En",
                        "child other than Key or Value",
                    ))
                }
            }
        }
        match (key, value) {
            (Some(k), Some(v)) => Ok((k, v)),
            _ => Err(InspectError::malformed(L, "En", "needs both Key and Value")),
        }
    }

    fn count_object(&mut self) -> Result<(), InspectError> {
        self.objects += 1;
        if self.objects > self.limits.max_objects {
            return Err(InspectError::limit(
                L,
                "max_clixml_objects",
                self.limits.max_objects,
                "too many values in one message",
            ));
        }
        Ok(())
    }
}

fn ref_id<'a>(e: &'a BytesStart<'_>, what: &str) -> Result<Cow<'a, str>, InspectError> {
    xml::attribute(e, b"RefId", L)?
        .ok_or_else(|| InspectError::malformed(L, what, "missing RefId attribute"))
}

fn set_once<T>(slot: &mut Option<T>, value: T, field: &str) -> Result<(), InspectError> {
    if slot.is_some() {
        return Err(InspectError::malformed(L, field, "given twice in one Obj"));
    }
    *slot = Some(value);
    Ok(())
}

fn once(seen: &mut bool, field: &str) -> Result<(), InspectError> {
    if std::mem::replace(seen, true) {
        return Err(InspectError::malformed(L, field, "given twice in one Obj"));
    }
    Ok(())
}

/// The tags of primitive values, as static strings.
fn primitive_tag(tag: &[u8]) -> Option<&'static str> {
    const TAGS: [&str; 21] = [
        "S", "B", "C", "DT", "TS", "By", "SB", "U16", "I16", "U32", "I32", "U64", "I64", "Sg",
        "Db", "D", "BA", "G", "URI", "Version", "XD",
    ];
    TAGS.iter()
        .copied()
        .chain(["SBK"])
        .find(|t| t.as_bytes() == tag)
}

/// Convert a primitive's text into a value.
fn primitive(tag: &'static str, text: &str) -> Result<Value, InspectError> {
    let bad = |what: &str| InspectError::malformed(L, tag, format!("{what}: {text:?}"));
    let t = text.trim();
    Ok(match tag {
        "S" => Value::Str(escape::decode(text).into_owned()),
        "SBK" => Value::ScriptBlock(escape::decode(text).into_owned()),
        "XD" => Value::Typed {
            tag,
            text: escape::decode(text).into_owned(),
        },
        "B" => Value::Bool(match t {
            "true" | "1" => true,
            "false" | "0" => false,
            _ => return Err(bad("not a boolean")),
        }),
        "SB" | "I16" | "I32" | "I64" | "By" | "U16" | "U32" => {
            Value::Int(t.parse::<i64>().map_err(|_| bad("not an integer"))?)
        }
        "U64" => Value::UInt(
            t.parse::<u64>()
                .map_err(|_| bad("not an unsigned integer"))?,
        ),
        "Sg" | "Db" => Value::Float(parse_float(t).ok_or_else(|| bad("not a number"))?),
        "C" => {
            let code = t.parse::<u32>().map_err(|_| bad("not a character code"))?;
            let c = char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER);
            Value::Typed {
                tag,
                text: c.to_string(),
            }
        }
        _ => Value::Typed {
            tag,
            text: t.to_owned(),
        },
    })
}

/// .NET writes `INF`, `-INF` and `NaN` for the special values.
fn parse_float(t: &str) -> Option<f64> {
    match t {
        "INF" => Some(f64::INFINITY),
        "-INF" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        _ => t.parse().ok(),
    }
}

#[cfg(test)]
#[path = "reader_tests.rs"]
mod tests;
