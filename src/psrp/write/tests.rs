use super::*;
use serde_json::json;

#[test]
fn pool_handshake_messages_match_what_a_windows_server_sends() {
    // Byte-for-byte the CLIXML of the captured server replies in test_psrp_multiple_commands.yml.
    assert_eq!(
        session_capability(),
        r#"<Obj RefId="0"><MS><Version N="protocolversion">2.3</Version><Version N="PSVersion">2.0</Version><Version N="SerializationVersion">1.1.0.1</Version></MS></Obj>"#
    );
    assert_eq!(
        runspacepool_state(RUNSPACEPOOL_OPENED),
        r#"<Obj RefId="0"><MS><I32 N="RunspaceState">2</I32></MS></Obj>"#
    );
    assert_eq!(
        pipeline_state(PIPELINE_COMPLETED),
        r#"<Obj RefId="0"><MS><I32 N="PipelineState">4</I32></MS></Obj>"#
    );
}

#[test]
fn application_private_data_nests_the_version_table_with_fresh_ref_ids() {
    let xml = application_private_data();
    assert!(
        xml.starts_with(
            r#"<Obj RefId="0"><MS><Obj N="ApplicationPrivateData" RefId="1"><TN RefId="0">"#
        ),
        "{xml}"
    );
    assert!(
        xml.contains(r#"<En><S N="Key">PSVersionTable</S><Obj N="Value" RefId="2"><TN RefId="1">"#),
        "{xml}"
    );
    assert!(xml.contains(
        r#"<En><S N="Key">PSRemotingProtocolVersion</S><Version N="Value">2.3</Version></En>"#
    ));
    assert!(xml.ends_with("</DCT></Obj></En></DCT></Obj></MS></Obj>"));
}

#[test]
fn strings_get_powershell_escaping_then_xml_escaping() {
    let mut w = ClixmlWriter::new();
    w.string(Some("a_x"), "x<&>\"_x\n\u{10437}");
    assert_eq!(
        w.finish(),
        r#"<S N="a_x005F_x">x&lt;&amp;&gt;&quot;_x005F_x_x000A__xD801__xDC37_</S>"#
    );
}

#[test]
fn json_values_map_to_the_closest_dotnet_types() {
    let mut w = ClixmlWriter::new();
    w.json(
        Some("V"),
        &json!({"b": true, "big": u64::MAX, "f": 1.5, "i": -3, "l": ["s", null], "n": null}),
    );
    assert_eq!(
        w.finish(),
        concat!(
            r#"<Obj N="V" RefId="0"><TN RefId="0"><T>System.Collections.Hashtable</T><T>System.Object</T></TN><DCT>"#,
            r#"<En><S N="Key">b</S><B N="Value">true</B></En>"#,
            r#"<En><S N="Key">big</S><U64 N="Value">18446744073709551615</U64></En>"#,
            r#"<En><S N="Key">f</S><Db N="Value">1.5</Db></En>"#,
            r#"<En><S N="Key">i</S><I64 N="Value">-3</I64></En>"#,
            r#"<En><S N="Key">l</S><Obj N="Value" RefId="1"><TN RefId="1"><T>System.Object[]</T><T>System.Array</T><T>System.Object</T></TN>"#,
            r#"<LST><S>s</S><Nil /></LST></Obj></En>"#,
            r#"<En><S N="Key">n</S><Nil N="Value" /></En>"#,
            r#"</DCT></Obj>"#
        )
    );
}

#[test]
fn custom_object_turns_keys_into_properties() {
    let xml = custom_object(&json!({"cmdlet": "Get-Mailbox", "positional": []}));
    assert_eq!(
        xml,
        concat!(
            r#"<Obj RefId="0"><TN RefId="0"><T>System.Management.Automation.PSCustomObject</T><T>System.Object</T></TN><MS>"#,
            r#"<S N="cmdlet">Get-Mailbox</S>"#,
            r#"<Obj N="positional" RefId="1"><TN RefId="1"><T>System.Object[]</T><T>System.Array</T><T>System.Object</T></TN><LST></LST></Obj>"#,
            r#"</MS></Obj>"#
        )
    );
    assert_eq!(custom_object(&json!("plain")), "<S>plain</S>");
}

#[test]
fn availability_answers_carry_the_call_id() {
    assert_eq!(
        runspace_availability(7, Availability::Accepted(true)),
        r#"<Obj RefId="0"><MS><B N="SetMinMaxRunspacesResponse">true</B><I64 N="ci">7</I64></MS></Obj>"#
    );
    assert!(runspace_availability(1, Availability::Count(4))
        .contains(r#"<I64 N="SetMinMaxRunspacesResponse">4</I64>"#));
}

#[test]
fn server_message_has_the_header_a_bom_and_the_text() {
    let rpid = Uuid::parse_str("018bac11-0d5d-444a-98f4-64e68fdefb1f").unwrap();
    let bytes = server_message(MessageType::RunspacePoolState, rpid, Uuid::nil(), "<Obj/>");
    let parsed = Message::parse(&bytes).unwrap();
    assert_eq!(parsed.destination, Destination::Client);
    assert_eq!(parsed.message_type, MessageType::RunspacePoolState);
    assert_eq!(parsed.rpid, rpid);
    assert_eq!(parsed.pid, Uuid::nil());
    assert_eq!(parsed.data, b"<Obj/>");
    assert_eq!(&bytes[0..8], &[1, 0, 0, 0, 0x05, 0x10, 0x02, 0x00]);
    assert_eq!(&bytes[40..43], UTF8_BOM);
}

#[test]
fn the_shared_clixml_reader_reads_back_what_the_writer_wrote() {
    use crate::psrp::clixml::{self, ClixmlLimits, Container as C, Value as V};
    let record =
        json!({"cmdlet": "Set-Mailbox", "note": "a\u{0}b _x0041_ 😀 <&>", "n": 7, "l": [true]});
    let xml = custom_object(&record);
    let limits = ClixmlLimits {
        max_depth: 64,
        max_attributes: 32,
        max_objects: 1000,
        max_refs: 1000,
    };
    let value = clixml::parse(xml.as_bytes(), &limits).unwrap();
    let obj = value.as_obj().unwrap();
    assert!(obj.is_type("System.Management.Automation.PSCustomObject"));
    assert_eq!(obj.member("cmdlet"), Some(&V::Str("Set-Mailbox".into())));
    assert_eq!(
        obj.member("note"),
        Some(&V::Str("a\u{0}b _x0041_ 😀 <&>".into()))
    );
    assert_eq!(obj.member("n"), Some(&V::Int(7)));
    let list = obj
        .member("l")
        .and_then(V::as_obj)
        .and_then(|o| o.container.clone());
    assert_eq!(list, Some(C::List(vec![V::Bool(true)])));
}
