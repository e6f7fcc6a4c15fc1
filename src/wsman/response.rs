//! WS-Management SOAP responses, written the way a Windows WinRM service writes them.
//!
//! The mock endpoint answers every request with one of these; the gateway can use the same
//! builders when it answers locally. Every response carries `RelatesTo` = the request's
//! MessageID, because pypsrp rejects a success response whose RelatesTo does not match.
//! Everything the client supplied is XML-escaped before it is written.

use quick_xml::escape::escape;

const NS_S: &str = "http://www.w3.org/2003/05/soap-envelope";
const NS_A: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing";
const NS_X: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer";
const NS_W: &str = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd";
const NS_RSP: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell";
const NS_F: &str = "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault";
const ANONYMOUS: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous";

const ACTION_CREATE_RESPONSE: &str =
    "http://schemas.xmlsoap.org/ws/2004/09/transfer/CreateResponse";
const ACTION_GET_RESPONSE: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer/GetResponse";
const ACTION_DELETE_RESPONSE: &str =
    "http://schemas.xmlsoap.org/ws/2004/09/transfer/DeleteResponse";
const ACTION_SHELL: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/";
const ACTION_FAULT: &str = "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault";
const COMMAND_STATE: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/";

/// WSManFault code for "nothing arrived within OperationTimeout" (0x80338029). Clients treat it
/// as the normal end of a long-poll and send the next Receive.
pub const FAULT_OPERATION_TIMEOUT: u32 = 2150858793;
/// WSManFault code for "no such shell or command" (0x8033805B). PowerShell treats it as the
/// session being gone, which is exactly right for an unknown ShellId.
pub const FAULT_NO_SUCH_SHELL: u32 = 2150858843;

/// The state reported in `rsp:CommandState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandState {
    /// More output may follow; the client keeps receiving.
    Running,
    /// The command has finished and all its output was sent.
    Done,
}

impl CommandState {
    fn uri_suffix(self) -> &'static str {
        match self {
            CommandState::Running => "Running",
            CommandState::Done => "Done",
        }
    }
}

/// One `rsp:Stream` of a ReceiveResponse: the base64 text of PSRP fragments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutStream<'a> {
    /// `stdout` for PSRP.
    pub name: &'a str,
    /// `None` for pool-level output.
    pub command_id: Option<&'a str>,
    /// Already base64-encoded fragment bytes.
    pub base64: &'a str,
}

/// A WS-Man fault: HTTP 500 with this envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault<'a> {
    /// `s:Sender` or `s:Receiver`.
    pub code: &'a str,
    /// e.g. `w:InvalidSelectors`, `w:TimedOut`.
    pub subcode: &'a str,
    /// The WSManFault `Code` (a Windows error number).
    pub wsman_code: u32,
    /// The WSManFault `Machine`.
    pub machine: &'a str,
    /// Shown to the user: written to both `s:Reason/s:Text` and `f:Message`.
    pub message: &'a str,
}

fn open_envelope(out: &mut String, action: &str, relates_to: &str) {
    out.push_str(r#"<s:Envelope xml:lang="en-US" xmlns:s=""#);
    out.push_str(NS_S);
    for (prefix, ns) in [("a", NS_A), ("x", NS_X), ("w", NS_W), ("rsp", NS_RSP)] {
        out.push_str(r#"" xmlns:"#);
        out.push_str(prefix);
        out.push_str(r#"=""#);
        out.push_str(ns);
    }
    out.push_str(r#""><s:Header><a:Action>"#);
    out.push_str(action);
    out.push_str("</a:Action><a:MessageID>uuid:");
    out.push_str(&uuid::Uuid::new_v4().hyphenated().to_string().to_uppercase());
    out.push_str("</a:MessageID><a:To>");
    out.push_str(ANONYMOUS);
    out.push_str("</a:To><a:RelatesTo>");
    out.push_str(&escape(relates_to));
    out.push_str("</a:RelatesTo></s:Header><s:Body>");
}

fn close_envelope(out: &mut String) {
    out.push_str("</s:Body></s:Envelope>");
}

fn shell_action(name: &str) -> String {
    format!("{ACTION_SHELL}{name}")
}

/// The answer to a Create: the new shell's selector and its description.
pub fn create_response(
    relates_to: &str,
    address: &str,
    resource_uri: &str,
    shell_id: &str,
) -> String {
    let (address, resource_uri, shell_id) =
        (escape(address), escape(resource_uri), escape(shell_id));
    let mut out = String::with_capacity(1536);
    open_envelope(&mut out, ACTION_CREATE_RESPONSE, relates_to);
    out.push_str(&format!(
        "<x:ResourceCreated><a:Address>{address}</a:Address><a:ReferenceParameters>\
         <w:ResourceURI>{resource_uri}</w:ResourceURI><w:SelectorSet>\
         <w:Selector Name=\"ShellId\">{shell_id}</w:Selector></w:SelectorSet>\
         </a:ReferenceParameters></x:ResourceCreated>\
         <rsp:Shell><rsp:ShellId>{shell_id}</rsp:ShellId><rsp:ResourceUri>{resource_uri}</rsp:ResourceUri>\
         <rsp:IdleTimeOut>PT7200.000S</rsp:IdleTimeOut><rsp:InputStreams>stdin pr</rsp:InputStreams>\
         <rsp:OutputStreams>stdout</rsp:OutputStreams><rsp:CompressionMode>NoCompression</rsp:CompressionMode>\
         <rsp:Encoding>UTF8</rsp:Encoding><rsp:BufferMode>Block</rsp:BufferMode>\
         <rsp:State>Connected</rsp:State></rsp:Shell>"
    ));
    close_envelope(&mut out);
    out
}

/// The answer to a Get on a shell (pypsrp's `is_alive`): the shell's id, owner and state.
pub fn get_response(relates_to: &str, shell_id: &str, owner: &str) -> String {
    let mut out = String::with_capacity(1024);
    open_envelope(&mut out, ACTION_GET_RESPONSE, relates_to);
    out.push_str(&format!(
        "<rsp:Shell><rsp:ShellId>{}</rsp:ShellId><rsp:Owner>{}</rsp:Owner>\
         <rsp:State>Connected</rsp:State></rsp:Shell>",
        escape(shell_id),
        escape(owner)
    ));
    close_envelope(&mut out);
    out
}

/// The answer to a Command: echoes the CommandId the pipeline will be known by.
pub fn command_response(relates_to: &str, command_id: &str) -> String {
    let mut out = String::with_capacity(1024);
    open_envelope(&mut out, &shell_action("CommandResponse"), relates_to);
    out.push_str("<rsp:CommandResponse><rsp:CommandId>");
    out.push_str(&escape(command_id));
    out.push_str("</rsp:CommandId></rsp:CommandResponse>");
    close_envelope(&mut out);
    out
}

/// The answer to a Send.
pub fn send_response(relates_to: &str) -> String {
    empty_body_response(
        &shell_action("SendResponse"),
        relates_to,
        "<rsp:SendResponse/>",
    )
}

/// The answer to a Signal.
pub fn signal_response(relates_to: &str) -> String {
    empty_body_response(
        &shell_action("SignalResponse"),
        relates_to,
        "<rsp:SignalResponse/>",
    )
}

/// The answer to a Delete (the shell is closed); the body is empty, as Windows sends it.
pub fn delete_response(relates_to: &str) -> String {
    empty_body_response(ACTION_DELETE_RESPONSE, relates_to, "")
}

fn empty_body_response(action: &str, relates_to: &str, body: &str) -> String {
    let mut out = String::with_capacity(768);
    open_envelope(&mut out, action, relates_to);
    out.push_str(body);
    close_envelope(&mut out);
    out
}

/// The answer to a Receive: output streams, and for a command its state. `state` is `None`
/// for pool-level output, which has no CommandState.
pub fn receive_response(
    relates_to: &str,
    streams: &[OutStream<'_>],
    state: Option<(&str, CommandState)>,
) -> String {
    let data: usize = streams.iter().map(|s| s.base64.len() + 96).sum();
    let mut out = String::with_capacity(1024 + data);
    open_envelope(&mut out, &shell_action("ReceiveResponse"), relates_to);
    out.push_str("<rsp:ReceiveResponse>");
    for stream in streams {
        out.push_str(r#"<rsp:Stream Name=""#);
        out.push_str(&escape(stream.name));
        if let Some(id) = stream.command_id {
            out.push_str(r#"" CommandId=""#);
            out.push_str(&escape(id));
        }
        out.push_str(r#"">"#);
        out.push_str(&escape(stream.base64));
        out.push_str("</rsp:Stream>");
    }
    if let Some((command_id, state)) = state {
        out.push_str(r#"<rsp:CommandState CommandId=""#);
        out.push_str(&escape(command_id));
        out.push_str(r#"" State=""#);
        out.push_str(COMMAND_STATE);
        out.push_str(state.uri_suffix());
        out.push_str(r#"">"#);
        if state == CommandState::Done {
            out.push_str("<rsp:ExitCode>0</rsp:ExitCode>");
        }
        out.push_str("</rsp:CommandState>");
    }
    out.push_str("</rsp:ReceiveResponse>");
    close_envelope(&mut out);
    out
}

/// A WS-Man fault envelope (to be sent with HTTP 500).
pub fn fault(relates_to: &str, fault: &Fault<'_>) -> String {
    let message = escape(fault.message);
    let mut out = String::with_capacity(1536);
    open_envelope(&mut out, ACTION_FAULT, relates_to);
    out.push_str(&format!(
        "<s:Fault><s:Code><s:Value>{code}</s:Value><s:Subcode><s:Value>{subcode}</s:Value></s:Subcode></s:Code>\
         <s:Reason><s:Text xml:lang=\"en-US\">{message}</s:Text></s:Reason><s:Detail>\
         <f:WSManFault xmlns:f=\"{NS_F}\" Code=\"{wsman_code}\" Machine=\"{machine}\">\
         <f:Message>{message}</f:Message></f:WSManFault></s:Detail></s:Fault>",
        code = escape(fault.code),
        subcode = escape(fault.subcode),
        wsman_code = fault.wsman_code,
        machine = escape(fault.machine),
    ));
    close_envelope(&mut out);
    out
}

/// The long-poll timeout: nothing to report within the request's OperationTimeout.
pub fn operation_timeout_fault(relates_to: &str, machine: &str) -> String {
    fault(
        relates_to,
        &Fault {
            code: "s:Receiver",
            subcode: "w:TimedOut",
            wsman_code: FAULT_OPERATION_TIMEOUT,
            machine,
            message: "The WS-Management service cannot complete the operation within the time \
                      specified in OperationTimeout.",
        },
    )
}

/// The request named a ShellId (or CommandId) this server does not know.
pub fn unknown_shell_fault(relates_to: &str, machine: &str, what: &str) -> String {
    fault(
        relates_to,
        &Fault {
            code: "s:Sender",
            subcode: "w:InvalidSelectors",
            wsman_code: FAULT_NO_SUCH_SHELL,
            machine,
            message: what,
        },
    )
}

#[cfg(test)]
mod tests;
