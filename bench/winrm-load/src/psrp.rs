//! The few PSRP messages a client needs to open a pool and run one cmdlet, built the way pypsrp
//! builds them (MS-PSRP §2.2.1 message header, §2.2.4 fragment header, CLIXML bodies).

use base64::Engine;
use uuid::Uuid;

pub const SESSION_CAPABILITY: u32 = 0x0001_0002;
pub const INIT_RUNSPACEPOOL: u32 = 0x0001_0004;
pub const RUNSPACEPOOL_STATE: u32 = 0x0002_1005;
pub const CREATE_PIPELINE: u32 = 0x0002_1006;
pub const PIPELINE_STATE: u32 = 0x0004_1006;

/// Destination "server" in the message header.
const TO_SERVER: u32 = 2;

/// A PSRP message: 40-byte little-endian header, then the CLIXML.
fn message(message_type: u32, rpid: Uuid, pid: Uuid, clixml: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(40 + clixml.len());
    out.extend_from_slice(&TO_SERVER.to_le_bytes());
    out.extend_from_slice(&message_type.to_le_bytes());
    out.extend_from_slice(&rpid.to_bytes_le());
    out.extend_from_slice(&pid.to_bytes_le());
    out.extend_from_slice(clixml.as_bytes());
    out
}

/// One message in one fragment (start and end flags set), appended to `out`.
fn push_fragment(out: &mut Vec<u8>, object_id: u64, message: &[u8]) {
    out.extend_from_slice(&object_id.to_be_bytes());
    out.extend_from_slice(&0u64.to_be_bytes());
    out.push(0x03);
    out.extend_from_slice(&(message.len() as u32).to_be_bytes());
    out.extend_from_slice(message);
}

const CAPABILITY: &str = r#"<Obj RefId="0"><MS><Version N="protocolversion">2.3</Version><Version N="PSVersion">2.0</Version><Version N="SerializationVersion">1.1.0.1</Version></MS></Obj>"#;

const INIT_POOL: &str = r#"<Obj RefId="0"><MS><I32 N="MinRunspaces">1</I32><I32 N="MaxRunspaces">1</I32><Obj N="PSThreadOptions" RefId="1"><TN RefId="0"><T>System.Management.Automation.Runspaces.PSThreadOptions</T><T>System.Enum</T><T>System.ValueType</T><T>System.Object</T></TN><ToString>Default</ToString><I32>0</I32></Obj><Obj N="ApartmentState" RefId="2"><TN RefId="1"><T>System.Management.Automation.Runspaces.ApartmentState</T><T>System.Enum</T><T>System.ValueType</T><T>System.Object</T></TN><ToString>UNKNOWN</ToString><I32>2</I32></Obj><Obj N="HostInfo" RefId="3"><MS><B N="_isHostNull">true</B><B N="_isHostUINull">true</B><B N="_isHostRawUINull">true</B><B N="_useRunspaceHost">true</B></MS></Obj><Nil N="ApplicationArguments" /></MS></Obj>"#;

/// The `creationXml` of a Create: SESSION_CAPABILITY and INIT_RUNSPACEPOOL, base64.
pub fn creation_xml(rpid: Uuid) -> String {
    let mut out = Vec::new();
    push_fragment(
        &mut out,
        1,
        &message(SESSION_CAPABILITY, rpid, Uuid::nil(), CAPABILITY),
    );
    push_fragment(
        &mut out,
        2,
        &message(INIT_RUNSPACEPOOL, rpid, Uuid::nil(), INIT_POOL),
    );
    base64::engine::general_purpose::STANDARD.encode(out)
}

/// The `Arguments` of a Command: CREATE_PIPELINE running `cmdlet -Identity identity
/// -ResultSize Unlimited`, base64.
pub fn create_pipeline(
    rpid: Uuid,
    pid: Uuid,
    object_id: u64,
    cmdlet: &str,
    identity: &str,
) -> String {
    let clixml = pipeline_clixml(cmdlet, identity);
    let mut out = Vec::new();
    push_fragment(
        &mut out,
        object_id,
        &message(CREATE_PIPELINE, rpid, pid, &clixml),
    );
    base64::engine::general_purpose::STANDARD.encode(out)
}

fn pipeline_clixml(cmdlet: &str, identity: &str) -> String {
    let merge = r#"<Ref RefId="10" N="MergeToResult" /><Ref RefId="10" N="MergePreviousResults" /><Ref RefId="10" N="MergeError" /><Ref RefId="10" N="MergeWarning" /><Ref RefId="10" N="MergeVerbose" /><Ref RefId="10" N="MergeDebug" /><Ref RefId="10" N="MergeInformation" />"#;
    format!(
        concat!(
            r#"<Obj RefId="0"><MS><B N="NoInput">true</B>"#,
            r#"<Obj N="ApartmentState" RefId="1"><TN RefId="0"><T>System.Management.Automation.Runspaces.ApartmentState</T><T>System.Enum</T><T>System.ValueType</T><T>System.Object</T></TN><ToString>UNKNOWN</ToString><I32>2</I32></Obj>"#,
            r#"<Obj N="RemoteStreamOptions" RefId="2"><TN RefId="1"><T>System.Management.Automation.RemoteStreamOptions</T><T>System.Enum</T><T>System.ValueType</T><T>System.Object</T></TN><ToString>0</ToString><I32>0</I32></Obj>"#,
            r#"<B N="AddToHistory">false</B>"#,
            r#"<Obj N="HostInfo" RefId="3"><MS><B N="_isHostNull">true</B><B N="_isHostUINull">true</B><B N="_isHostRawUINull">true</B><B N="_useRunspaceHost">true</B></MS></Obj>"#,
            r#"<Obj N="PowerShell" RefId="4"><MS><Obj N="Cmds" RefId="5"><TN RefId="2"><T>System.Collections.Generic.List`1[[System.Management.Automation.PSObject, System.Management.Automation, Version=3.0.0.0, Culture=neutral, PublicKeyToken=31bf3856ad364e35]]</T><T>System.Object</T></TN><LST>"#,
            r#"<Obj RefId="6"><MS><S N="Cmd">{cmdlet}</S><B N="IsScript">false</B><Nil N="UseLocalScope" />"#,
            r#"<Obj N="MergeMyResult" RefId="10"><TN RefId="3"><T>System.Management.Automation.Runspaces.PipelineResultTypes</T><T>System.Enum</T><T>System.ValueType</T><T>System.Object</T></TN><ToString>None</ToString><I32>0</I32></Obj>{merge}"#,
            r#"<Obj N="Args" RefId="7"><TNRef RefId="2" /><LST>"#,
            r#"<Obj RefId="8"><MS><S N="N">Identity</S><S N="V">{identity}</S></MS></Obj>"#,
            r#"<Obj RefId="9"><MS><S N="N">ResultSize</S><S N="V">Unlimited</S></MS></Obj>"#,
            r#"</LST></Obj></MS></Obj></LST></Obj>"#,
            r#"<B N="IsNested">false</B><Nil N="History" /><B N="RedirectShellErrorOutputPipe">true</B></MS></Obj>"#,
            r#"<B N="IsNested">false</B></MS></Obj>"#
        ),
        cmdlet = cmdlet,
        identity = identity,
        merge = merge
    )
}

/// The message types in one decoded `Stream` (messages that start in it), ignoring anything
/// truncated: a load client only needs to see RUNSPACEPOOL_STATE or PIPELINE_STATE go by.
pub fn message_types(stream: &[u8]) -> Vec<u32> {
    let mut types = Vec::new();
    let mut rest = stream;
    while let Some((header, tail)) = rest.split_first_chunk::<21>() {
        let flags = header[16];
        let len = u32::from_be_bytes([header[17], header[18], header[19], header[20]]) as usize;
        let Some((blob, after)) = tail.split_at_checked(len) else {
            break;
        };
        if flags & 0x01 != 0 {
            if let Some(t) = blob.get(4..8) {
                types.push(u32::from_le_bytes([t[0], t[1], t[2], t[3]]));
            }
        }
        rest = after;
    }
    types
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creation_xml_carries_capability_then_init_pool() {
        let rpid = Uuid::new_v4();
        let raw = base64::engine::general_purpose::STANDARD
            .decode(creation_xml(rpid))
            .unwrap();
        assert_eq!(
            message_types(&raw),
            vec![SESSION_CAPABILITY, INIT_RUNSPACEPOOL]
        );
        // RPID in .NET byte order right after destination and type.
        assert_eq!(&raw[21 + 8..21 + 24], &rpid.to_bytes_le());
    }

    #[test]
    fn create_pipeline_is_one_complete_fragment_naming_the_cmdlet() {
        let b64 = create_pipeline(Uuid::new_v4(), Uuid::new_v4(), 7, "Get-Mailbox", "u1");
        let raw = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        assert_eq!(u64::from_be_bytes(raw[0..8].try_into().unwrap()), 7);
        assert_eq!(raw[16], 0x03);
        assert_eq!(message_types(&raw), vec![CREATE_PIPELINE]);
        let text = String::from_utf8_lossy(&raw[21 + 40..]);
        assert!(text.contains(r#"<S N="Cmd">Get-Mailbox</S>"#));
        assert!(text.contains(r#"<S N="V">u1</S>"#));
    }

    #[test]
    fn message_types_stops_at_a_truncated_fragment() {
        let mut raw = Vec::new();
        push_fragment(
            &mut raw,
            1,
            &message(PIPELINE_STATE, Uuid::nil(), Uuid::nil(), "<x/>"),
        );
        raw.extend_from_slice(&[0u8; 10]);
        assert_eq!(message_types(&raw), vec![PIPELINE_STATE]);
    }
}
