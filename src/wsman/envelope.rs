//! Namespace-aware parsing of a WS-Management request envelope (protocol.md §2).
//!
//! [`parse_request`] reads the headers the gateway needs (action, ids, resource, selectors,
//! options, compression) and the PSRP payload of the body, with base64 already decoded.
//! Elements are matched by namespace URI and local name, never by prefix. It fails closed on
//! anything ambiguous: a header or payload given twice, a payload element outside its place, a
//! body that does not match the action, a DTD, an entity other than the predefined five.
//!
//! For the mock endpoint: `parse_request(body, &limits)` gives an [`Envelope`]; match on
//! `envelope.body` ([`Body::Create`], [`Body::Command`], [`Body::Send`], ...) to answer, and copy
//! `envelope.message_id` into the response's `RelatesTo`.

use super::action::Action;
use super::ns;
use crate::inspect::error::{InspectError, Layer};
use crate::inspect::xml::{self, TextAcc, XmlLimits};
use base64::Engine;
use quick_xml::events::{BytesStart, Event};
use quick_xml::NsReader;
use std::borrow::Cow;

const L: Layer = Layer::Envelope;

/// The parts of a WS-Management request the gateway and the mock endpoint use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The operation (`wsa:Action`).
    pub action: Action,
    /// `wsa:MessageID` (`uuid:...`), echoed as `RelatesTo` in answers.
    pub message_id: Option<String>,
    /// `wsa:To`, the endpoint URI as the client saw it (informative).
    pub to: Option<String>,
    /// `wsman:ResourceURI` (the PowerShell configuration).
    pub resource_uri: Option<String>,
    /// `wsman:OperationTimeout` (e.g. `PT180.000S`), copied into requests the gateway makes.
    pub operation_timeout: Option<String>,
    /// `wsmv:SessionId` (`uuid:...`), copied into requests the gateway makes.
    pub session_id: Option<String>,
    /// The `ShellId` selector: the RunspacePool, on everything but Create.
    pub shell_id: Option<String>,
    /// `wsman:Option` name/value pairs, in order.
    pub options: Vec<(String, String)>,
    /// `rsp:CompressionType` (Create only), e.g. `xpress`.
    pub compression: Option<String>,
    /// The operation's body.
    pub body: Body,
}

/// The body of a request, by operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// No operation element in `s:Body` (Delete, Get, and bodies this module does not read).
    None,
    /// `rsp:Shell`: open a RunspacePool.
    Create {
        /// The `ShellId` attribute the client proposes (Windows sends it).
        shell_id: Option<String>,
        /// Decoded `creationXml`: fragments of SESSION_CAPABILITY and INIT_RUNSPACEPOOL.
        creation_xml: Option<Vec<u8>>,
    },
    /// `rsp:CommandLine`: start a pipeline.
    Command {
        command_id: Option<String>,
        /// Decoded `rsp:Arguments`: the first fragment(s) of CREATE_PIPELINE.
        arguments: Option<Vec<u8>>,
    },
    /// `rsp:Send`: more fragments for the pool or a pipeline.
    Send { streams: Vec<SendStream> },
    /// `rsp:Receive`: ask for output.
    Receive { streams: Vec<DesiredStream> },
    /// `rsp:Signal`: stop or close a pipeline.
    Signal {
        command_id: Option<String>,
        code: String,
    },
    /// `rsp:Connect`: reconnect to a disconnected pool.
    Connect { connect_xml: Option<Vec<u8>> },
}

/// One `rsp:Stream` of a Send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendStream {
    /// `stdin` or `pr`.
    pub name: String,
    /// The pipeline, or `None` for the pool.
    pub command_id: Option<String>,
    /// `End="true"`: no more input on this stream.
    pub end: bool,
    /// Decoded payload: PSRP fragments.
    pub data: Vec<u8>,
}

/// One `rsp:DesiredStream` of a Receive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredStream {
    /// Stream names, e.g. `stdout`.
    pub streams: String,
    pub command_id: Option<String>,
}

/// Where an element sits, as far as this parser cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum El {
    Envelope,
    Header,
    Body,
    Action,
    MessageId,
    To,
    ResourceUri,
    OperationTimeout,
    SessionId,
    SelectorSet,
    Selector,
    OptionSet,
    Option,
    Compression,
    Shell,
    CreationXml,
    CommandLine,
    Arguments,
    Send,
    Stream,
    Receive,
    DesiredStream,
    Signal,
    Code,
    Connect,
    ConnectXml,
    Other,
}

impl El {
    /// Elements whose text this parser reads (they may not contain elements).
    fn has_text(self) -> bool {
        use El::*;
        matches!(
            self,
            Action
                | MessageId
                | To
                | ResourceUri
                | OperationTimeout
                | SessionId
                | Selector
                | Option
                | Compression
                | CreationXml
                | Arguments
                | Stream
                | DesiredStream
                | Code
                | ConnectXml
        )
    }
}

/// Classify a child of `parent` from its namespace URI and local name.
fn classify(parent: El, ns: Option<&[u8]>, local: &[u8]) -> El {
    let Some(ns) = ns else { return El::Other };
    match (parent, ns, local) {
        (El::Envelope, ns::SOAP, b"Header") => El::Header,
        (El::Envelope, ns::SOAP, b"Body") => El::Body,
        (El::Header, ns::ADDRESSING, b"Action") => El::Action,
        (El::Header, ns::ADDRESSING, b"MessageID") => El::MessageId,
        (El::Header, ns::ADDRESSING, b"To") => El::To,
        (El::Header, ns::WSMAN, b"ResourceURI") => El::ResourceUri,
        (El::Header, ns::WSMAN, b"OperationTimeout") => El::OperationTimeout,
        (El::Header, ns::MS_WSMAN, b"SessionId") => El::SessionId,
        (El::Header, ns::WSMAN, b"SelectorSet") => El::SelectorSet,
        (El::Header, ns::WSMAN, b"OptionSet") => El::OptionSet,
        (El::Header, ns::SHELL, b"CompressionType") => El::Compression,
        (El::SelectorSet, ns::WSMAN, b"Selector") => El::Selector,
        (El::OptionSet, ns::WSMAN, b"Option") => El::Option,
        (El::Body, ns::SHELL, b"Shell") => El::Shell,
        (El::Body, ns::SHELL, b"CommandLine") => El::CommandLine,
        (El::Body, ns::SHELL, b"Send") => El::Send,
        (El::Body, ns::SHELL, b"Receive") => El::Receive,
        (El::Body, ns::SHELL, b"Signal") => El::Signal,
        (El::Body, ns::SHELL, b"Connect") => El::Connect,
        (El::Shell, ns::POWERSHELL, b"creationXml") => El::CreationXml,
        (El::CommandLine, ns::SHELL, b"Arguments") => El::Arguments,
        (El::Send, ns::SHELL, b"Stream") => El::Stream,
        (El::Receive, ns::SHELL, b"DesiredStream") => El::DesiredStream,
        (El::Signal, ns::SHELL, b"Code") => El::Code,
        (El::Connect, ns::POWERSHELL, b"connectXml") => El::ConnectXml,
        _ => El::Other,
    }
}

/// A payload-carrying element found anywhere but its one place is refused: the endpoint might
/// read it where this parser would not.
fn is_misplaced_payload(ns: Option<&[u8]>, local: &[u8]) -> bool {
    matches!(
        (ns, local),
        (Some(ns::SHELL), b"Arguments" | b"Stream")
            | (Some(ns::POWERSHELL), b"creationXml" | b"connectXml")
            | (
                Some(ns::SHELL),
                b"CommandLine" | b"Shell" | b"Send" | b"Signal"
            )
    )
}

/// Parse a WS-Management request body.
pub fn parse_request(bytes: &[u8], limits: &XmlLimits) -> Result<Envelope, InspectError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| InspectError::malformed(L, "encoding", format!("body is not UTF-8: {e}")))?;
    let mut p = Parser::default();
    let mut reader = NsReader::from_str(text);
    loop {
        let position = reader.buffer_position();
        let (resolved, event) = reader
            .read_resolved_event()
            .map_err(|e| xml::syntax_error(L, e, position))?;
        let ns = xml::namespace_of(&resolved, L)?;
        match event {
            Event::Start(e) => p.start(&e, ns, limits)?,
            Event::Empty(e) => {
                p.start(&e, ns, limits)?;
                p.end()?;
            }
            Event::End(_) => p.end()?,
            Event::Text(t) => p.text(|acc| acc.push_text(t, L))?,
            Event::CData(c) => {
                let s = String::from_utf8_lossy(&c.into_inner()).into_owned();
                p.text(|acc| {
                    acc.push_str(Cow::Owned(s));
                    Ok(())
                })?
            }
            Event::GeneralRef(r) => p.text(|acc| acc.push_ref(r, L))?,
            Event::DocType(_) => return Err(xml::doctype_error(L)),
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) => {}
        }
    }
    p.finish()
}

/// Parser state: the element stack and what has been read so far.
#[derive(Default)]
struct Parser<'i> {
    stack: Vec<El>,
    text: TextAcc<'i>,
    action: Option<String>,
    message_id: Option<String>,
    to: Option<String>,
    resource_uri: Option<String>,
    operation_timeout: Option<String>,
    session_id: Option<String>,
    shell_id: Option<String>,
    options: Vec<(String, String)>,
    compression: Option<String>,
    /// Name attribute of the open Selector/Option; id attributes of the open Stream etc.
    pending_name: Option<String>,
    pending_command_id: Option<String>,
    pending_end: bool,
    body_element: Option<El>,
    body: BodyParts,
    seen_root: bool,
}

#[derive(Default)]
struct BodyParts {
    id_attr: Option<String>,
    payload: Option<Vec<u8>>,
    code: Option<String>,
    streams: Vec<SendStream>,
    desired: Vec<DesiredStream>,
}

impl<'i> Parser<'i> {
    fn start(
        &mut self,
        e: &BytesStart<'_>,
        ns: Option<&[u8]>,
        limits: &XmlLimits,
    ) -> Result<(), InspectError> {
        xml::check_start(e, self.stack.len() + 1, limits, L)?;
        let local = e.local_name();
        let local = local.as_ref();
        let el = match self.stack.last() {
            None if self.seen_root => {
                return Err(InspectError::malformed(
                    L,
                    "Envelope",
                    "more than one root element",
                ))
            }
            None if ns == Some(ns::SOAP) && local == b"Envelope" => El::Envelope,
            None => {
                return Err(InspectError::malformed(
                    L,
                    xml::name_str(e),
                    "root element is not a SOAP 1.2 Envelope",
                ))
            }
            Some(parent) if parent.has_text() => {
                return Err(InspectError::malformed(
                    L,
                    xml::name_str(e),
                    format!("element inside {parent:?}, which must hold only text"),
                ))
            }
            Some(parent) => classify(*parent, ns, local),
        };
        self.seen_root = true;
        if el == El::Other && is_misplaced_payload(ns, local) {
            return Err(InspectError::malformed(
                L,
                xml::name_str(e),
                "payload element outside its place in the envelope",
            ));
        }
        self.open(el, e)?;
        self.stack.push(el);
        Ok(())
    }

    /// Record attributes and check uniqueness when an element opens.
    fn open(&mut self, el: El, e: &BytesStart<'_>) -> Result<(), InspectError> {
        let attr = |name: &[u8]| -> Result<Option<String>, InspectError> {
            Ok(xml::attribute(e, name, L)?.map(|v| v.trim().to_owned()))
        };
        match el {
            El::Shell | El::CommandLine | El::Send | El::Receive | El::Signal | El::Connect => {
                if let Some(first) = self.body_element {
                    return Err(InspectError::malformed(
                        L,
                        "Body",
                        format!("two operation elements ({first:?} and {el:?})"),
                    ));
                }
                self.body_element = Some(el);
                let id = if el == El::Shell {
                    b"ShellId".as_slice()
                } else {
                    b"CommandId"
                };
                self.body.id_attr = attr(id)?;
            }
            El::Selector | El::Option => self.pending_name = attr(b"Name")?,
            El::Stream => {
                self.pending_name = attr(b"Name")?;
                self.pending_command_id = attr(b"CommandId")?;
                self.pending_end = attr(b"End")?.is_some_and(|v| v.eq_ignore_ascii_case("true"));
            }
            El::DesiredStream => self.pending_command_id = attr(b"CommandId")?,
            _ => {}
        }
        Ok(())
    }

    fn text(
        &mut self,
        push: impl FnOnce(&mut TextAcc<'i>) -> Result<(), InspectError>,
    ) -> Result<(), InspectError> {
        match self.stack.last() {
            Some(el) if el.has_text() => push(&mut self.text),
            _ => Ok(()),
        }
    }

    fn end(&mut self) -> Result<(), InspectError> {
        let Some(el) = self.stack.pop() else {
            return Err(InspectError::malformed(
                L,
                "end tag",
                "end tag without a start",
            ));
        };
        if !el.has_text() {
            return Ok(());
        }
        let text = self.text.take();
        let value = || text.trim().to_owned();
        match el {
            El::Action => set_once(&mut self.action, value(), "Action")?,
            El::MessageId => set_once(&mut self.message_id, value(), "MessageID")?,
            El::To => set_once(&mut self.to, value(), "To")?,
            El::ResourceUri => set_once(&mut self.resource_uri, value(), "ResourceURI")?,
            El::OperationTimeout => {
                set_once(&mut self.operation_timeout, value(), "OperationTimeout")?
            }
            El::SessionId => set_once(&mut self.session_id, value(), "SessionId")?,
            El::Compression => set_once(&mut self.compression, value(), "CompressionType")?,
            El::Selector if self.pending_name.take().as_deref() == Some("ShellId") => {
                set_once(&mut self.shell_id, value(), "Selector[@Name=ShellId]")?;
            }
            El::Option => {
                let name = self.pending_name.take().unwrap_or_default();
                self.options.push((name, value()));
            }
            El::CreationXml | El::Arguments | El::ConnectXml => {
                let field = format!("{el:?}");
                let data = decode_base64(&text, &field)?;
                set_once(&mut self.body.payload, data, &field)?;
            }
            El::Code => set_once(&mut self.body.code, value(), "Signal/Code")?,
            El::Stream => {
                let data = decode_base64(&text, "Send/Stream")?;
                self.body.streams.push(SendStream {
                    name: self.pending_name.take().unwrap_or_default(),
                    command_id: self.pending_command_id.take(),
                    end: std::mem::take(&mut self.pending_end),
                    data,
                });
            }
            El::DesiredStream => self.body.desired.push(DesiredStream {
                streams: value(),
                command_id: self.pending_command_id.take(),
            }),
            _ => {}
        }
        Ok(())
    }

    fn finish(self) -> Result<Envelope, InspectError> {
        if !self.stack.is_empty() || !self.seen_root {
            return Err(InspectError::malformed(
                L,
                "Envelope",
                "document is truncated",
            ));
        }
        let action_uri = self
            .action
            .ok_or_else(|| InspectError::malformed(L, "Action", "missing wsa:Action header"))?;
        let action = Action::from_uri(&action_uri);
        let body = build_body(&action, self.body_element, self.body)?;
        Ok(Envelope {
            action,
            message_id: self.message_id,
            to: self.to,
            resource_uri: self.resource_uri,
            operation_timeout: self.operation_timeout,
            session_id: self.session_id,
            shell_id: self.shell_id,
            options: self.options,
            compression: self.compression,
            body,
        })
    }
}

/// The body element must be the one the action reads: the endpoint dispatches on the action,
/// and a mismatch is either a broken client or an attempt to hide a payload.
fn build_body(action: &Action, el: Option<El>, parts: BodyParts) -> Result<Body, InspectError> {
    let expected = match action {
        Action::Create => Some(El::Shell),
        Action::Command => Some(El::CommandLine),
        Action::Send => Some(El::Send),
        Action::Receive => Some(El::Receive),
        Action::Signal => Some(El::Signal),
        Action::Connect => Some(El::Connect),
        _ => None,
    };
    if el != expected && (el.is_some() || matches!(action, Action::Command | Action::Send)) {
        return Err(InspectError::malformed(
            L,
            "Body",
            format!(
                "action {} needs body element {:?}, found {:?}",
                action.name(),
                expected,
                el
            ),
        ));
    }
    Ok(match el {
        None => Body::None,
        Some(El::Shell) => Body::Create {
            shell_id: parts.id_attr,
            creation_xml: parts.payload,
        },
        Some(El::CommandLine) => Body::Command {
            command_id: parts.id_attr,
            arguments: parts.payload,
        },
        Some(El::Send) => Body::Send {
            streams: parts.streams,
        },
        Some(El::Receive) => Body::Receive {
            streams: parts.desired,
        },
        Some(El::Signal) => Body::Signal {
            command_id: parts.id_attr,
            code: parts.code.unwrap_or_default(),
        },
        Some(_) => Body::Connect {
            connect_xml: parts.payload,
        },
    })
}

fn set_once<T>(slot: &mut Option<T>, value: T, field: &str) -> Result<(), InspectError> {
    if slot.is_some() {
        return Err(InspectError::malformed(
            L,
            field,
            "given twice; refusing to pick one",
        ));
    }
    *slot = Some(value);
    Ok(())
}

/// Decode base64 text, ignoring XML whitespace (clients may wrap long lines).
pub fn decode_base64(text: &str, field: &str) -> Result<Vec<u8>, InspectError> {
    let engine = &base64::engine::general_purpose::STANDARD;
    let result = if text.bytes().any(|b| b.is_ascii_whitespace()) {
        let compact: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        engine.decode(compact)
    } else {
        engine.decode(text)
    };
    result.map_err(|e| InspectError::malformed(Layer::Base64, field, e.to_string()))
}

#[cfg(test)]
#[path = "envelope_tests.rs"]
mod tests;
