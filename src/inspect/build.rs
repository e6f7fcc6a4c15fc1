//! Builders for client requests (CREATE_PIPELINE CLIXML, PSRP messages, WS-Man envelopes).
//!
//! The gateway never builds requests; these exist so tests, property tests, fuzz seed corpora
//! and benchmarks all work on traffic shaped like a real client's (PowerShell's element order,
//! RefIds, `Cmds` + `ExtraCmds` for several statements).

use crate::psrp::fragment;
use crate::psrp::message::{Destination, Message, MessageType};
use base64::Engine;
use std::fmt::Write;
use uuid::Uuid;

/// One command to serialize.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CmdSpec {
    /// Command name or script text.
    pub cmd: String,
    pub is_script: bool,
    /// `(N, V)`: N as sent (`None` = Nil, positional), V as a CLIXML value element such as
    /// `<S>foo</S>` or `<Nil/>` (its `N="V"` attribute is added here).
    pub args: Vec<(Option<String>, String)>,
}

impl CmdSpec {
    /// A command with arguments given as `(name, value element)` pairs.
    pub fn new(cmd: &str, args: &[(Option<&str>, &str)]) -> Self {
        CmdSpec {
            cmd: cmd.to_owned(),
            is_script: false,
            args: args
                .iter()
                .map(|(n, v)| (n.map(str::to_owned), (*v).to_owned()))
                .collect(),
        }
    }
}

/// Escape text for an XML element or attribute.
pub fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A CLIXML `<S>` element for `s` (PowerShell-escaped).
pub fn s(s: &str) -> String {
    format!("<S>{}</S>", xml_escape(&crate::psrp::escape::encode(s)))
}

/// Add ` N="name"` to a value element.
fn named(value: &str, name: &str) -> String {
    let at = value
        .char_indices()
        .skip(1)
        .find(|(_, c)| matches!(c, ' ' | '>' | '/'))
        .map(|(i, _)| i)
        .unwrap_or(value.len());
    let (head, tail) = value.split_at(at);
    format!("{head} N=\"{name}\"{tail}")
}

/// Serializes objects with increasing RefIds.
struct Writer {
    out: String,
    next_ref: usize,
}

impl Writer {
    fn ref_id(&mut self) -> usize {
        self.next_ref += 1;
        self.next_ref
    }

    fn command(&mut self, c: &CmdSpec) {
        let id = self.ref_id();
        let _ = write!(self.out, "<Obj RefId=\"{id}\"><MS>");
        self.out.push_str(&named(&s(&c.cmd), "Cmd"));
        let _ = write!(
            self.out,
            "<B N=\"IsScript\">{}</B><Nil N=\"UseLocalScope\"/>",
            c.is_script
        );
        for merge in ["MergeMyResult", "MergeToResult", "MergePreviousResults"] {
            let id = self.ref_id();
            let _ = write!(
                self.out,
                "<Obj N=\"{merge}\" RefId=\"{id}\"><TN RefId=\"{id}\"><T>System.Management.Automation.Runspaces.PipelineResultTypes</T><T>System.Enum</T></TN><ToString>None</ToString><I32>0</I32></Obj>"
            );
        }
        let args_id = self.ref_id();
        let _ = write!(self.out, "<Obj N=\"Args\" RefId=\"{args_id}\"><LST>");
        for (n, v) in &c.args {
            let id = self.ref_id();
            let _ = write!(self.out, "<Obj RefId=\"{id}\"><MS>");
            match n {
                Some(n) => self.out.push_str(&named(&s(n), "N")),
                None => self.out.push_str("<Nil N=\"N\"/>"),
            }
            self.out.push_str(&named(v, "V"));
            self.out.push_str("</MS></Obj>");
        }
        self.out.push_str("</LST></Obj></MS></Obj>");
    }

    fn statement(&mut self, name: Option<&str>, cmds: &[CmdSpec]) {
        let id = self.ref_id();
        match name {
            Some(n) => {
                let _ = write!(self.out, "<Obj N=\"{n}\" RefId=\"{id}\"><LST>");
            }
            None => {
                let _ = write!(self.out, "<Obj RefId=\"{id}\"><LST>");
            }
        }
        for c in cmds {
            self.command(c);
        }
        self.out.push_str("</LST></Obj>");
    }
}

/// CREATE_PIPELINE CLIXML. One statement gives `Cmds` only; several give `Cmds` = the first
/// and `ExtraCmds` = all of them, as PowerShell sends a batch.
pub fn create_pipeline_xml(statements: &[Vec<CmdSpec>], no_input: bool) -> String {
    let mut w = Writer {
        out: String::with_capacity(1024),
        next_ref: 1,
    };
    w.out
        .push_str("<Obj RefId=\"0\"><MS><Obj N=\"PowerShell\" RefId=\"1\"><MS>");
    let first: &[CmdSpec] = statements.first().map(Vec::as_slice).unwrap_or(&[]);
    w.statement(Some("Cmds"), first);
    if statements.len() > 1 {
        let id = w.ref_id();
        let _ = write!(w.out, "<Obj N=\"ExtraCmds\" RefId=\"{id}\"><LST>");
        for st in statements {
            let id = w.ref_id();
            let _ = write!(w.out, "<Obj RefId=\"{id}\"><MS>");
            w.statement(Some("Cmds"), st);
            w.out.push_str("</MS></Obj>");
        }
        w.out.push_str("</LST></Obj>");
    }
    w.out.push_str("<B N=\"IsNested\">false</B><Nil N=\"History\"/><B N=\"RedirectShellErrorOutputPipe\">true</B></MS></Obj>");
    let _ = write!(
        w.out,
        "<B N=\"NoInput\">{no_input}</B><B N=\"AddToHistory\">true</B><B N=\"IsNested\">false</B></MS></Obj>"
    );
    w.out
}

/// A client-to-server PSRP message with a UTF-8 BOM before the data, as PowerShell writes it.
pub fn message(message_type: MessageType, rpid: Uuid, pid: Uuid, data: &[u8]) -> Vec<u8> {
    let mut with_bom = crate::psrp::message::UTF8_BOM.to_vec();
    with_bom.extend_from_slice(data);
    Message {
        destination: Destination::Server,
        message_type,
        rpid,
        pid,
        data: &with_bom,
    }
    .to_bytes()
}

/// Fragment a message into payloads of `per_payload` fragments, each fragment's blob at most
/// `max_blob` bytes (the first payload goes in the Command, the rest in Sends).
pub fn fragment_payloads(
    object_id: u64,
    msg: &[u8],
    max_blob: usize,
    per_payload: usize,
) -> Vec<Vec<u8>> {
    let frags = fragment::split_message(object_id, msg, max_blob);
    frags
        .chunks(per_payload.max(1))
        .map(|group| {
            let mut out = Vec::new();
            for f in group {
                f.encode(&mut out);
            }
            out
        })
        .collect()
}

const NS: &str = r#"xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:wsman="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell""#;
const SHELL_ACTION: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/";
const RESOURCE: &str = "http://schemas.microsoft.com/powershell/Microsoft.Exchange";

fn b64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

fn envelope(action: &str, shell_id: Option<&str>, extra: &str, body: &str) -> String {
    let selector = shell_id
        .map(|id| format!("<wsman:SelectorSet><wsman:Selector Name=\"ShellId\">{id}</wsman:Selector></wsman:SelectorSet>"))
        .unwrap_or_default();
    format!(
        "<s:Envelope {NS}><s:Header><wsa:To>https://gateway.example/wsman</wsa:To><wsman:ResourceURI s:mustUnderstand=\"true\">{RESOURCE}</wsman:ResourceURI><wsa:ReplyTo><wsa:Address s:mustUnderstand=\"true\">http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsa:Address></wsa:ReplyTo><wsa:Action s:mustUnderstand=\"true\">{action}</wsa:Action><wsman:MaxEnvelopeSize s:mustUnderstand=\"true\">512000</wsman:MaxEnvelopeSize><wsa:MessageID>uuid:{}</wsa:MessageID><wsman:Locale xml:lang=\"en-US\" s:mustUnderstand=\"false\"/>{selector}<wsman:OperationTimeout>PT180.000S</wsman:OperationTimeout>{extra}</s:Header><s:Body>{body}</s:Body></s:Envelope>",
        Uuid::new_v4().to_string().to_uppercase()
    )
}

/// A Create request carrying `creation` (fragments) and optionally `CompressionType xpress`.
pub fn create_envelope(shell_id: &str, creation: &[u8], xpress: bool) -> String {
    let compression = if xpress {
        "<rsp:CompressionType s:mustUnderstand=\"true\">xpress</rsp:CompressionType>"
    } else {
        ""
    };
    let extra = format!("<wsman:OptionSet s:mustUnderstand=\"true\"><wsman:Option Name=\"protocolversion\" MustComply=\"true\">2.3</wsman:Option></wsman:OptionSet>{compression}");
    let body = format!("<rsp:Shell ShellId=\"{shell_id}\"><rsp:InputStreams>stdin pr</rsp:InputStreams><rsp:OutputStreams>stdout</rsp:OutputStreams><creationXml xmlns=\"http://schemas.microsoft.com/powershell\">{}</creationXml></rsp:Shell>", b64(creation));
    envelope(
        "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create",
        None,
        &extra,
        &body,
    )
}

/// A Command request whose `Arguments` carry `arguments` (fragments).
pub fn command_envelope(shell_id: &str, command_id: &str, arguments: &[u8]) -> String {
    let extra = "<wsman:OptionSet s:mustUnderstand=\"true\"><wsman:Option Name=\"WINRS_SKIP_CMD_SHELL\">False</wsman:Option></wsman:OptionSet>";
    let body = format!("<rsp:CommandLine CommandId=\"{command_id}\"><rsp:Command/><rsp:Arguments>{}</rsp:Arguments></rsp:CommandLine>", b64(arguments));
    envelope(
        &format!("{SHELL_ACTION}Command"),
        Some(shell_id),
        extra,
        &body,
    )
}

/// A Send request with one `stdin` stream per payload.
pub fn send_envelope(shell_id: &str, command_id: Option<&str>, payloads: &[&[u8]]) -> String {
    let attr = command_id
        .map(|c| format!(" CommandId=\"{c}\""))
        .unwrap_or_default();
    let streams: String = payloads
        .iter()
        .map(|p| format!("<rsp:Stream Name=\"stdin\"{attr}>{}</rsp:Stream>", b64(p)))
        .collect();
    envelope(
        &format!("{SHELL_ACTION}Send"),
        Some(shell_id),
        "",
        &format!("<rsp:Send>{streams}</rsp:Send>"),
    )
}

/// A Receive request for a pipeline (or the pool).
pub fn receive_envelope(shell_id: &str, command_id: Option<&str>) -> String {
    let attr = command_id
        .map(|c| format!(" CommandId=\"{c}\""))
        .unwrap_or_default();
    let body =
        format!("<rsp:Receive><rsp:DesiredStream{attr}>stdout</rsp:DesiredStream></rsp:Receive>");
    envelope(&format!("{SHELL_ACTION}Receive"), Some(shell_id), "", &body)
}

/// A Signal request.
pub fn signal_envelope(shell_id: &str, command_id: &str, code: &str) -> String {
    let body =
        format!("<rsp:Signal CommandId=\"{command_id}\"><rsp:Code>{code}</rsp:Code></rsp:Signal>");
    envelope(&format!("{SHELL_ACTION}Signal"), Some(shell_id), "", &body)
}

/// A Delete request (close the pool).
pub fn delete_envelope(shell_id: &str) -> String {
    envelope(
        "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete",
        Some(shell_id),
        "",
        "",
    )
}
