use super::*;

const LIMITS: ClixmlLimits = ClixmlLimits {
    max_depth: 64,
    max_attributes: 32,
    max_objects: 1000,
    max_refs: 100,
};

fn read(s: &str) -> Result<Value, InspectError> {
    parse(s.as_bytes(), &LIMITS)
}

fn obj(v: &Value) -> &Obj {
    v.as_obj().expect("an object")
}

#[test]
fn primitives() {
    assert_eq!(
        read("<S>a&amp;b_x000A_</S>").unwrap(),
        Value::Str("a&b\n".into())
    );
    assert_eq!(read("<I32>-5</I32>").unwrap(), Value::Int(-5));
    assert_eq!(
        read("<U64>18446744073709551615</U64>").unwrap(),
        Value::UInt(u64::MAX)
    );
    assert_eq!(read("<B>true</B>").unwrap(), Value::Bool(true));
    assert_eq!(read("<Nil/>").unwrap(), Value::Nil);
    assert_eq!(read("<S/>").unwrap(), Value::Str(String::new()));
    assert_eq!(read("<Db>1.5</Db>").unwrap(), Value::Float(1.5));
    assert_eq!(
        read("<C>65</C>").unwrap(),
        Value::Typed {
            tag: "C",
            text: "A".into()
        }
    );
    assert_eq!(
        read("<SBK>Get-Date</SBK>").unwrap(),
        Value::ScriptBlock("Get-Date".into())
    );
}

#[test]
fn secure_string_content_is_dropped() {
    assert_eq!(read("<SS>c2VjcmV0</SS>").unwrap(), Value::SecureString);
}

#[test]
fn bad_primitive_names_tag_and_text() {
    let e = read("<I32>x</I32>").unwrap_err();
    assert!(
        e.to_string().contains("I32") && e.to_string().contains("\"x\""),
        "{e}"
    );
    assert!(read("<B>True</B>").is_err());
}

#[test]
fn object_with_tn_tostring_members_and_list() {
    let v = read(
        r#"<Obj RefId="0"><TN RefId="0"><T>System.Object[]</T><T>System.Object</T></TN><ToString>x</ToString><MS><S N="Cmd">Get-Mailbox</S></MS><LST><S>a</S><I32>1</I32></LST></Obj>"#,
    )
    .unwrap();
    let o = obj(&v);
    assert!(o.is_type("System.Object[]"));
    assert_eq!(o.to_string.as_deref(), Some("x"));
    assert_eq!(o.member("cmd"), Some(&Value::Str("Get-Mailbox".into())));
    assert_eq!(o.list().unwrap(), &[Value::Str("a".into()), Value::Int(1)]);
}

#[test]
fn refs_and_tnrefs_resolve() {
    let v = read(
        r#"<Obj RefId="0"><MS><Obj N="A" RefId="1"><TN RefId="0"><T>T1</T></TN><ToString>one</ToString></Obj><Ref N="B" RefId="1"/><Obj N="C" RefId="2"><TNRef RefId="0"/></Obj></MS></Obj>"#,
    )
    .unwrap();
    let o = obj(&v);
    assert_eq!(o.member("A"), o.member("B"));
    assert!(obj(o.member("C").unwrap()).is_type("T1"));
}

#[test]
fn ref_to_nothing_is_refused() {
    let e = read(r#"<Obj RefId="0"><MS><Ref N="B" RefId="9"/></MS></Obj>"#).unwrap_err();
    assert!(e.to_string().contains("refers to no earlier object"), "{e}");
    let e = read(r#"<Obj RefId="0"><TNRef RefId="3"/></Obj>"#).unwrap_err();
    assert!(e.to_string().contains("TNRef"), "{e}");
}

#[test]
fn self_reference_is_refused() {
    assert!(read(r#"<Obj RefId="0"><MS><Ref N="me" RefId="0"/></MS></Obj>"#).is_err());
}

#[test]
fn duplicate_refid_is_refused() {
    let e = read(r#"<Obj RefId="0"><MS><Obj N="a" RefId="1"/><Obj N="b" RefId="1"/></MS></Obj>"#)
        .unwrap_err();
    assert!(e.to_string().contains("defined twice"), "{e}");
}

#[test]
fn duplicate_member_names_ignoring_case_are_refused() {
    let e = read(r#"<Obj RefId="0"><MS><S N="Cmd">a</S><S N="cmd">b</S></MS></Obj>"#).unwrap_err();
    assert!(e.to_string().contains("given twice"), "{e}");
}

#[test]
fn member_names_are_unescaped() {
    let v = read(r#"<Obj RefId="0"><MS><S N="C_x006D_d">a</S></MS></Obj>"#).unwrap();
    assert!(obj(&v).member("Cmd").is_some());
}

#[test]
fn dictionary_entries() {
    let v =
        read(r#"<Obj RefId="0"><DCT><En><S N="Key">add</S><S N="Value">x</S></En></DCT></Obj>"#)
            .unwrap();
    assert_eq!(
        obj(&v).container,
        Some(Container::Dict(vec![(
            Value::Str("add".into()),
            Value::Str("x".into())
        )]))
    );
    assert!(read(r#"<Obj RefId="0"><DCT><En><S N="Key">a</S></En></DCT></Obj>"#).is_err());
}

#[test]
fn script_block_anywhere_is_flagged() {
    let v = read(
        r#"<Obj RefId="0"><MS><Obj N="x" RefId="1"><LST><SBK>rm</SBK></LST></Obj></MS></Obj>"#,
    )
    .unwrap();
    assert!(v.has_script_block());
    let v = read(r#"<Obj RefId="0"><MS><S N="x">SBK</S></MS></Obj>"#).unwrap();
    assert!(!v.has_script_block());
}

#[test]
fn unknown_elements_are_refused() {
    let e = read(r#"<Obj RefId="0"><MS><Foo N="x"/></MS></Obj>"#).unwrap_err();
    assert!(e.to_string().contains("not understood"), "{e}");
    assert!(read(r#"<x:S xmlns:x="urn:x">a</x:S>"#).is_err());
}

#[test]
fn stray_text_and_two_roots_are_refused() {
    assert!(read(r#"<Obj RefId="0">text<MS/></Obj>"#).is_err());
    assert!(read("<S>a</S><S>b</S>").is_err());
    assert!(read("").is_err());
}

#[test]
fn doctype_and_entities_are_refused() {
    assert!(read("<!DOCTYPE S [<!ENTITY x \"y\">]><S>&x;</S>").is_err());
    assert!(read("<S>&x;</S>").is_err());
}

#[test]
fn object_limit_at_its_edge() {
    let doc = |n: usize| {
        format!(
            "<Obj RefId=\"0\"><LST>{}</LST></Obj>",
            "<I32>1</I32>".repeat(n)
        )
    };
    let limits = ClixmlLimits {
        max_objects: 5,
        ..LIMITS
    };
    assert!(parse(doc(4).as_bytes(), &limits).is_ok());
    let e = parse(doc(5).as_bytes(), &limits).unwrap_err();
    assert_eq!(e.limit_name(), Some("max_clixml_objects"));
}

#[test]
fn ref_limit_at_its_edge() {
    let doc = |n: usize| {
        format!(
            "<Obj RefId=\"0\"><LST><Obj RefId=\"1\"/>{}</LST></Obj>",
            "<Ref RefId=\"1\"/>".repeat(n)
        )
    };
    let limits = ClixmlLimits {
        max_refs: 3,
        ..LIMITS
    };
    assert!(parse(doc(3).as_bytes(), &limits).is_ok());
    let e = parse(doc(4).as_bytes(), &limits).unwrap_err();
    assert_eq!(e.limit_name(), Some("max_clixml_refs"));
}

#[test]
fn depth_limit_at_its_edge() {
    let doc = |n: usize| {
        format!(
            "{}<S>x</S>{}",
            "<Obj RefId=\"0\"><LST>".repeat(n),
            "</LST></Obj>".repeat(n)
        )
    };
    let limits = ClixmlLimits {
        max_depth: 9,
        max_refs: 100,
        ..LIMITS
    };
    // n objects open 2n elements, the string one more.
    let ok = doc(4).replace("RefId=\"0\"", "");
    assert!(parse(ok.as_bytes(), &limits).is_ok());
    let too_deep = doc(5).replace("RefId=\"0\"", "");
    let e = parse(too_deep.as_bytes(), &limits).unwrap_err();
    assert_eq!(e.limit_name(), Some("max_xml_depth"));
}

#[test]
fn shared_ref_graph_is_cheap() {
    // Each object holds two refs to the previous one: 2^40 paths, but read in linear time.
    let mut doc = String::from("<Obj RefId=\"r0\"><LST><SBK>x</SBK></LST></Obj>");
    for i in 1..40 {
        doc = format!(
            "<Obj RefId=\"w{i}\"><LST>{doc}<Ref RefId=\"r{p}\"/><Ref RefId=\"r{p}\"/></LST></Obj>",
            p = i - 1
        );
        doc = doc.replacen(&format!("RefId=\"w{i}\""), &format!("RefId=\"r{i}\""), 1);
    }
    let limits = ClixmlLimits {
        max_depth: 200,
        ..LIMITS
    };
    let v = parse(doc.as_bytes(), &limits).unwrap();
    assert!(v.has_script_block());
}
