//! Writing CLIXML and server-to-client PSRP messages.
//!
//! The mock endpoint writes every server message a client needs to open a RunspacePool and run
//! pipelines; the gateway can write its own (a synthetic PIPELINE_STATE) with the same helpers.
//! Strings get PowerShell's `_xHHHH_` escaping ([`super::escape::encode`]) and then XML
//! escaping, the two layers a real server applies.

use super::escape;
use super::message::{Destination, Message, MessageType, UTF8_BOM};
use quick_xml::escape::escape as xml_escape;
use serde_json::Value;
use uuid::Uuid;

/// RunspacePoolState `Opened` (MS-PSRP §2.2.3.4).
pub const RUNSPACEPOOL_OPENED: i32 = 2;
/// RunspacePoolState `Closed`.
pub const RUNSPACEPOOL_CLOSED: i32 = 3;
/// PSInvocationState `Completed` (MS-PSRP §2.2.3.5).
pub const PIPELINE_COMPLETED: i32 = 4;
/// PSInvocationState `Failed`.
pub const PIPELINE_FAILED: i32 = 5;
/// PSInvocationState `Stopped`.
pub const PIPELINE_STOPPED: i32 = 3;

/// The PSRP protocol version this side speaks; 2.3 is Windows PowerShell 5.1 and later.
pub const PROTOCOL_VERSION: &str = "2.3";

/// Builds one CLIXML document. RefIds for objects and type-name lists are numbered in writing
/// order, as PowerShell's serializer numbers them.
#[derive(Debug, Default)]
pub struct ClixmlWriter {
    out: String,
    next_obj_ref: u32,
    next_tn_ref: u32,
}

impl ClixmlWriter {
    pub fn new() -> Self {
        ClixmlWriter::default()
    }

    /// The finished document.
    pub fn finish(self) -> String {
        self.out
    }

    fn open(&mut self, tag: &str, name: Option<&str>) {
        self.out.push('<');
        self.out.push_str(tag);
        if let Some(n) = name {
            self.out.push_str(" N=\"");
            self.push_escaped(n);
            self.out.push('"');
        }
    }

    fn push_escaped(&mut self, text: &str) {
        let ps = escape::encode(text);
        self.out.push_str(&xml_escape(ps.as_ref()));
    }

    /// A primitive element whose text needs no escaping (numbers, booleans, versions).
    fn primitive(&mut self, tag: &str, name: Option<&str>, text: &str) {
        self.open(tag, name);
        self.out.push('>');
        self.out.push_str(text);
        self.out.push_str("</");
        self.out.push_str(tag);
        self.out.push('>');
    }

    /// `<S>`: a string, escaped.
    pub fn string(&mut self, name: Option<&str>, value: &str) {
        self.open("S", name);
        self.out.push('>');
        self.push_escaped(value);
        self.out.push_str("</S>");
    }

    pub fn i32(&mut self, name: Option<&str>, value: i32) {
        self.primitive("I32", name, &value.to_string());
    }

    pub fn i64(&mut self, name: Option<&str>, value: i64) {
        self.primitive("I64", name, &value.to_string());
    }

    pub fn u64(&mut self, name: Option<&str>, value: u64) {
        self.primitive("U64", name, &value.to_string());
    }

    pub fn double(&mut self, name: Option<&str>, value: f64) {
        self.primitive("Db", name, &value.to_string());
    }

    pub fn bool(&mut self, name: Option<&str>, value: bool) {
        self.primitive("B", name, if value { "true" } else { "false" });
    }

    /// `<Version>`; `value` must be a dotted version, which needs no escaping.
    pub fn version(&mut self, name: Option<&str>, value: &str) {
        self.primitive("Version", name, value);
    }

    pub fn nil(&mut self, name: Option<&str>) {
        self.open("Nil", name);
        self.out.push_str(" />");
    }

    /// Open `<Obj N=.. RefId=..>`, optionally with its type names; close with [`Self::end_obj`].
    pub fn begin_obj(&mut self, name: Option<&str>, type_names: &[&str]) {
        self.open("Obj", name);
        self.out
            .push_str(&format!(" RefId=\"{}\">", self.next_obj_ref));
        self.next_obj_ref += 1;
        if !type_names.is_empty() {
            self.out
                .push_str(&format!("<TN RefId=\"{}\">", self.next_tn_ref));
            self.next_tn_ref += 1;
            for t in type_names {
                self.out.push_str("<T>");
                self.push_escaped(t);
                self.out.push_str("</T>");
            }
            self.out.push_str("</TN>");
        }
    }

    pub fn end_obj(&mut self) {
        self.out.push_str("</Obj>");
    }

    /// Open a container inside an object: `MS` (extended properties), `LST` or `DCT`.
    pub fn begin(&mut self, container: Container) {
        self.out.push('<');
        self.out.push_str(container.tag());
        self.out.push('>');
    }

    pub fn end(&mut self, container: Container) {
        self.out.push_str("</");
        self.out.push_str(container.tag());
        self.out.push('>');
    }

    /// One dictionary entry with a string key; the value is written by `value`.
    pub fn entry(&mut self, key: &str, value: impl FnOnce(&mut Self)) {
        self.out.push_str("<En>");
        self.string(Some("Key"), key);
        value(self);
        self.out.push_str("</En>");
    }

    /// A JSON value as the closest .NET value: null `Nil`, bool `B`, integers `I64` (`U64`
    /// above i64), other numbers `Db`, strings `S`, arrays `Object[]`, objects `Hashtable`.
    pub fn json(&mut self, name: Option<&str>, value: &Value) {
        match value {
            Value::Null => self.nil(name),
            Value::Bool(b) => self.bool(name, *b),
            Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
                (Some(i), _, _) => self.i64(name, i),
                (None, Some(u), _) => self.u64(name, u),
                (_, _, f) => self.double(name, f.unwrap_or_default()),
            },
            Value::String(s) => self.string(name, s),
            Value::Array(items) => {
                self.begin_obj(name, &["System.Object[]", "System.Array", "System.Object"]);
                self.begin(Container::List);
                for item in items {
                    self.json(None, item);
                }
                self.end(Container::List);
                self.end_obj();
            }
            Value::Object(map) => {
                self.begin_obj(name, &["System.Collections.Hashtable", "System.Object"]);
                self.begin(Container::Dict);
                for (k, v) in map {
                    self.entry(k, |w| w.json(Some("Value"), v));
                }
                self.end(Container::Dict);
                self.end_obj();
            }
        }
    }
}

/// The containers of an `Obj`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// `MS`: extended (note) properties.
    Members,
    /// `LST`: a list or array.
    List,
    /// `DCT`: a dictionary of `En` entries.
    Dict,
}

impl Container {
    fn tag(self) -> &'static str {
        match self {
            Container::Members => "MS",
            Container::List => "LST",
            Container::Dict => "DCT",
        }
    }
}

/// An object whose only content is extended properties written by `props`.
fn members_object(props: impl FnOnce(&mut ClixmlWriter)) -> String {
    let mut w = ClixmlWriter::new();
    w.begin_obj(None, &[]);
    w.begin(Container::Members);
    props(&mut w);
    w.end(Container::Members);
    w.end_obj();
    w.finish()
}

/// SESSION_CAPABILITY: the versions this side speaks.
pub fn session_capability() -> String {
    members_object(|w| {
        w.version(Some("protocolversion"), PROTOCOL_VERSION);
        w.version(Some("PSVersion"), "2.0");
        w.version(Some("SerializationVersion"), "1.1.0.1");
    })
}

/// APPLICATION_PRIVATE_DATA: a `PSVersionTable` like Windows PowerShell 5.1 sends.
pub fn application_private_data() -> String {
    const DICT: [&str; 3] = [
        "System.Management.Automation.PSPrimitiveDictionary",
        "System.Collections.Hashtable",
        "System.Object",
    ];
    members_object(|w| {
        w.begin_obj(Some("ApplicationPrivateData"), &DICT);
        w.begin(Container::Dict);
        w.entry("PSVersionTable", |w| {
            w.begin_obj(Some("Value"), &DICT);
            w.begin(Container::Dict);
            w.entry("PSVersion", |w| w.version(Some("Value"), "5.1.17763.1"));
            w.entry("PSEdition", |w| w.string(Some("Value"), "Desktop"));
            w.entry("WSManStackVersion", |w| w.version(Some("Value"), "3.0"));
            w.entry("PSRemotingProtocolVersion", |w| {
                w.version(Some("Value"), PROTOCOL_VERSION)
            });
            w.entry("SerializationVersion", |w| {
                w.version(Some("Value"), "1.1.0.1")
            });
            w.end(Container::Dict);
            w.end_obj();
        });
        w.end(Container::Dict);
        w.end_obj();
    })
}

/// RUNSPACEPOOL_STATE with a RunspacePoolState value.
pub fn runspacepool_state(state: i32) -> String {
    members_object(|w| w.i32(Some("RunspaceState"), state))
}

/// PIPELINE_STATE with a PSInvocationState value and no error.
pub fn pipeline_state(state: i32) -> String {
    members_object(|w| w.i32(Some("PipelineState"), state))
}

/// RUNSPACE_AVAILABILITY answering SET_MAX/MIN_RUNSPACES (`bool`) or GET_AVAILABLE_RUNSPACES
/// (a count), matched to the request by its call id `ci`.
pub fn runspace_availability(ci: i64, response: Availability) -> String {
    members_object(|w| {
        match response {
            Availability::Accepted(b) => w.bool(Some("SetMinMaxRunspacesResponse"), b),
            Availability::Count(n) => w.i64(Some("SetMinMaxRunspacesResponse"), n),
        }
        w.i64(Some("ci"), ci);
    })
}

/// The answer carried by RUNSPACE_AVAILABILITY.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Availability {
    Accepted(bool),
    Count(i64),
}

/// A PIPELINE_OUTPUT object: a `PSCustomObject` whose properties are the JSON object's keys.
/// Non-object JSON values are written as the bare value.
pub fn custom_object(value: &Value) -> String {
    let mut w = ClixmlWriter::new();
    match value {
        Value::Object(map) => {
            w.begin_obj(
                None,
                &[
                    "System.Management.Automation.PSCustomObject",
                    "System.Object",
                ],
            );
            w.begin(Container::Members);
            for (k, v) in map {
                w.json(Some(k), v);
            }
            w.end(Container::Members);
            w.end_obj();
        }
        other => w.json(None, other),
    }
    w.finish()
}

/// The `Count` object PowerShell sends first in a GET_COMMAND_METADATA reply.
pub fn command_metadata_count(count: i32) -> String {
    let mut w = ClixmlWriter::new();
    w.begin_obj(
        None,
        &[
            "Selected.Microsoft.PowerShell.Commands.GenericMeasureInfo",
            "System.Management.Automation.PSCustomObject",
            "System.Object",
        ],
    );
    w.begin(Container::Members);
    w.i32(Some("Count"), count);
    w.end(Container::Members);
    w.end_obj();
    w.finish()
}

/// A whole server-to-client message: 40-byte header, UTF-8 BOM (as PowerShell writes it), CLIXML.
pub fn server_message(message_type: MessageType, rpid: Uuid, pid: Uuid, clixml: &str) -> Vec<u8> {
    let mut data = Vec::with_capacity(UTF8_BOM.len() + clixml.len());
    data.extend_from_slice(UTF8_BOM);
    data.extend_from_slice(clixml.as_bytes());
    Message {
        destination: Destination::Client,
        message_type,
        rpid,
        pid,
        data: &data,
    }
    .to_bytes()
}

#[cfg(test)]
mod tests;
