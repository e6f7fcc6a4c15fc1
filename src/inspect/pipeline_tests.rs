use super::*;
use crate::inspect::build::{create_pipeline_xml, s, CmdSpec};
use crate::invocation::REDACTED;
use serde_json::json;

fn limits() -> InspectLimits {
    InspectLimits::default()
}

fn parse(statements: &[Vec<CmdSpec>]) -> Result<ParsedPipeline, InspectError> {
    let xml = create_pipeline_xml(statements, true);
    parse_create_pipeline(xml.as_bytes(), &limits())
}

fn one(cmd: CmdSpec) -> Command {
    let mut p = parse(&[vec![cmd]]).unwrap();
    assert_eq!(p.statements.len(), 1);
    p.statements.remove(0).remove(0)
}

#[test]
fn four_name_spellings_normalise_alike() {
    let c = one(CmdSpec::new(
        "Get-Mailbox",
        &[
            (Some("Identity"), &s("a")),
            (Some("-ResultSize:"), &s("Unlimited")),
            (Some("-Filter"), &s("x")),
            (Some("-Anr"), "<Nil/>"),
            (None, &s("pos")),
        ],
    ));
    assert_eq!(c.name, "Get-Mailbox");
    let names: Vec<_> = c.params.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["Identity", "ResultSize", "Filter", "Anr"]);
    assert_eq!(c.param("resultsize").unwrap().value, json!("Unlimited"));
    let anr = c.param("Anr").unwrap();
    assert!(anr.bare);
    assert_eq!(anr.value, json!(true));
    assert_eq!(c.positional, vec![json!("pos")]);
}

#[test]
fn explicit_colon_with_nil_is_null_not_bare() {
    let c = one(CmdSpec::new(
        "Set-Mailbox",
        &[(Some("-Confirm:"), "<Nil/>"), (Some("Force"), "<Nil/>")],
    ));
    assert!(!c.param("Confirm").unwrap().bare);
    assert_eq!(c.param("Confirm").unwrap().value, json!(null));
    assert_eq!(c.param("Force").unwrap().value, json!(null));
}

#[test]
fn trailing_whitespace_in_names_is_dropped() {
    let c = one(CmdSpec::new(
        "Get-Mailbox",
        &[(Some("-Identity: "), &s("a"))],
    ));
    assert_eq!(c.params[0].name, "Identity");
}

#[test]
fn mixed_case_names_are_kept_for_display_and_keyed_lower() {
    let c = one(CmdSpec::new("gEt-MaIlBoX", &[]));
    assert_eq!(c.name, "gEt-MaIlBoX");
    assert_eq!(c.key(), "get-mailbox");
}

#[test]
fn escaped_command_name_is_decoded() {
    let xml = create_pipeline_xml(&[vec![CmdSpec::new("PLACEHOLDER", &[])]], true)
        .replace("PLACEHOLDER", "New-Journal_x0052_ule");
    let p = parse_create_pipeline(xml.as_bytes(), &limits()).unwrap();
    assert_eq!(p.statements[0][0].name, "New-JournalRule");
}

#[test]
fn escaped_parameter_name_is_decoded() {
    let c = one(CmdSpec::new(
        "Get-Mailbox",
        &[(Some("PLACEHOLDER"), &s("x"))],
    ));
    assert_eq!(c.params[0].name, "PLACEHOLDER");
    let xml = create_pipeline_xml(
        &[vec![CmdSpec::new(
            "Get-Mailbox",
            &[(Some("PLACEHOLDER"), &s("x"))],
        )]],
        true,
    )
    .replace(">PLACEHOLDER<", ">-Ident_x0069_ty:<");
    let p = parse_create_pipeline(xml.as_bytes(), &limits()).unwrap();
    assert_eq!(p.statements[0][0].params[0].name, "Identity");
}

#[test]
fn module_qualified_names_split() {
    let c = one(CmdSpec::new("Exchange\\New-JournalRule", &[]));
    assert_eq!(
        (c.module.as_deref(), c.name.as_str()),
        (Some("Exchange"), "New-JournalRule")
    );
    let c = one(CmdSpec::new("Microsoft.Exchange\\Get-Mailbox", &[]));
    assert_eq!(c.module.as_deref(), Some("Microsoft.Exchange"));
    let c = one(CmdSpec::new("\\Get-Mailbox", &[]));
    assert_eq!((c.module, c.name.as_str()), (None, "\\Get-Mailbox"));
}

#[test]
fn second_statements_in_extra_cmds_are_all_evaluated() {
    let p = parse(&[
        vec![CmdSpec::new("Get-Mailbox", &[])],
        vec![CmdSpec::new("Remove-Mailbox", &[(None, &s("bar"))])],
        vec![
            CmdSpec::new("Get-Date", &[]),
            CmdSpec::new("Out-String", &[]),
        ],
    ])
    .unwrap();
    let names: Vec<Vec<&str>> = p
        .statements
        .iter()
        .map(|st| st.iter().map(|c| c.name.as_str()).collect())
        .collect();
    assert_eq!(
        names,
        vec![
            vec!["Get-Mailbox"],
            vec!["Remove-Mailbox"],
            vec!["Get-Date", "Out-String"]
        ]
    );
}

#[test]
fn cmds_differing_from_extra_cmds_is_evaluated_too() {
    let xml = create_pipeline_xml(
        &[
            vec![CmdSpec::new("Get-Mailbox", &[])],
            vec![CmdSpec::new("Get-User", &[])],
        ],
        true,
    );
    // Hostile client: Cmds says Get-Date, ExtraCmds keeps the real statements.
    let xml = xml.replacen(
        "<S N=\"Cmd\">Get-Mailbox</S>",
        "<S N=\"Cmd\">Get-Date</S>",
        1,
    );
    let p = parse_create_pipeline(xml.as_bytes(), &limits()).unwrap();
    let names: Vec<&str> = p.statements.iter().map(|st| st[0].name.as_str()).collect();
    assert_eq!(names, ["Get-Date", "Get-Mailbox", "Get-User"]);
}

#[test]
fn scripts_are_flagged_and_not_split() {
    let mut spec = CmdSpec::new("Get-Mailbox x | Remove-Mailbox\\n", &[]);
    spec.is_script = true;
    let c = one(spec);
    assert!(c.is_script);
    assert_eq!(c.module, None);
    assert!(c.name.starts_with("Get-Mailbox x"));
}

#[test]
fn script_block_argument_sets_has_script_block() {
    let c = one(CmdSpec::new(
        "Where-Object",
        &[(Some("FilterScript"), "<SBK>$_.x</SBK>")],
    ));
    assert!(c.has_script_block);
    let c = one(CmdSpec::new("Get-Mailbox", &[(Some("Identity"), &s("x"))]));
    assert!(!c.has_script_block);
}

#[test]
fn secrets_are_redacted() {
    let c = one(CmdSpec::new(
        "Set-Mailbox",
        &[
            (Some("Password"), &s("clear-text")),
            (Some("-NewPassword:"), "<SS>AAAA</SS>"),
            (None, "<SS>BBBB</SS>"),
            (Some("Identity"), &s("x")),
        ],
    ));
    assert_eq!(c.param("Password").unwrap().value, json!(REDACTED));
    assert_eq!(c.param("NewPassword").unwrap().value, json!(REDACTED));
    assert_eq!(c.positional, vec![json!(REDACTED)]);
    assert_eq!(c.param("Identity").unwrap().value, json!("x"));
    let text = serde_json::to_string(&c).unwrap();
    assert!(!text.contains("clear-text") && !text.contains("AAAA"));
}

#[test]
fn duplicate_parameters_ignoring_case_are_refused() {
    let e = parse(&[vec![CmdSpec::new(
        "Remove-Mailbox",
        &[(Some("Identity"), &s("a")), (Some("-identity:"), &s("b"))],
    )]])
    .unwrap_err();
    assert!(e.to_string().contains("given twice"), "{e}");
}

#[test]
fn empty_parameter_name_is_refused() {
    assert!(parse(&[vec![CmdSpec::new("X", &[(Some("-:"), &s("a"))])]]).is_err());
}

#[test]
fn missing_is_script_or_args_is_refused() {
    let xml = create_pipeline_xml(&[vec![CmdSpec::new("Get-Mailbox", &[])]], true);
    let no_script = xml.replace("<B N=\"IsScript\">false</B>", "");
    let e = parse_create_pipeline(no_script.as_bytes(), &limits()).unwrap_err();
    assert!(e.to_string().contains("IsScript"), "{e}");
    let string_script = xml.replace("<B N=\"IsScript\">false</B>", "<S N=\"IsScript\">false</S>");
    assert!(parse_create_pipeline(string_script.as_bytes(), &limits()).is_err());
}

#[test]
fn empty_statement_is_refused() {
    assert!(parse(&[vec![]]).is_err());
}

#[test]
fn no_input_flag() {
    let xml = create_pipeline_xml(&[vec![CmdSpec::new("Set-Mailbox", &[])]], false);
    assert!(
        !parse_create_pipeline(xml.as_bytes(), &limits())
            .unwrap()
            .no_input
    );
    let xml = create_pipeline_xml(&[vec![CmdSpec::new("Set-Mailbox", &[])]], true);
    assert!(
        parse_create_pipeline(xml.as_bytes(), &limits())
            .unwrap()
            .no_input
    );
}

#[test]
fn max_commands_at_its_edge() {
    let st = |n: usize| {
        vec![(0..n)
            .map(|_| CmdSpec::new("Get-Date", &[]))
            .collect::<Vec<_>>()]
    };
    let l = InspectLimits {
        max_commands: 3,
        ..limits()
    };
    assert!(parse_create_pipeline(create_pipeline_xml(&st(3), true).as_bytes(), &l).is_ok());
    let e = parse_create_pipeline(create_pipeline_xml(&st(4), true).as_bytes(), &l).unwrap_err();
    assert_eq!(e.limit_name(), Some("max_commands"));
}

#[test]
fn typed_values() {
    let c = one(CmdSpec::new(
        "Set-X",
        &[
            (Some("Count"), "<I32>1000</I32>"),
            (Some("On"), "<B>true</B>"),
            (Some("List"), "<Obj RefId=\"900\"><TN RefId=\"900\"><T>System.Object[]</T></TN><LST><S>a</S><S>b</S></LST></Obj>"),
        ],
    ));
    assert_eq!(c.param("Count").unwrap().value, json!(1000));
    assert_eq!(c.param("On").unwrap().value, json!(true));
    assert_eq!(c.param("List").unwrap().value, json!(["a", "b"]));
}

#[test]
fn get_command_metadata_names_are_reported() {
    let xml = r#"<Obj RefId="0"><MS><Obj N="Name" RefId="1"><TN RefId="0"><T>System.String[]</T></TN><LST><S>new-pssession*</S></LST></Obj><I32 N="CommandType">511</I32><Nil N="Namespace"/><Nil N="ArgumentList"/></MS></Obj>"#;
    let p = parse_get_command_metadata(xml.as_bytes(), &limits()).unwrap();
    let c = &p.statements[0][0];
    assert_eq!(c.name, "Get-Command");
    assert_eq!(c.param("Name").unwrap().value, json!(["new-pssession*"]));
    assert_eq!(c.param("CommandType").unwrap().value, json!(511));
    assert!(c.param("Namespace").is_none());
}

#[test]
fn pipeline_input_values_and_script_blocks() {
    let p = parse_pipeline_input(b"<S>mbx1</S>", &limits()).unwrap();
    assert_eq!(p.value, json!("mbx1"));
    assert!(!p.has_script_block);
    let p = parse_pipeline_input(b"<SBK>rm -r /</SBK>", &limits()).unwrap();
    assert!(p.has_script_block);
}

#[test]
fn psrpcore_capture_gives_two_statements() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/vectors/psrpcore_create_pipeline.xml");
    let Ok(xml) = std::fs::read(path) else { return };
    let p = parse_create_pipeline(&xml, &limits()).unwrap();
    assert_eq!(p.statements.len(), 2);
    let st0: Vec<&str> = p.statements[0].iter().map(|c| c.name.as_str()).collect();
    assert_eq!(st0, ["Get-Mailbox", "Set-Mailbox"]);
    assert_eq!(
        p.statements[0][0].param("Identity").unwrap().value,
        json!("foo")
    );
    assert_eq!(
        p.statements[0][1].param("Force").unwrap().value,
        json!(true)
    );
    let rm = &p.statements[1][0];
    assert_eq!(rm.name, "Remove-Mailbox");
    assert_eq!(rm.positional, vec![json!("bar")]);
    assert_eq!(rm.param("Confirm").unwrap().value, json!(false));
}

#[test]
fn repeated_statement_refs_hit_max_commands_not_unbounded_work() {
    let cmd = r#"<Obj RefId="10"><MS><S N="Cmd">Get-Date</S><B N="IsScript">false</B><Obj N="Args" RefId="11"><LST/></Obj></MS></Obj>"#;
    let entry = format!(
        r#"<Obj RefId="20"><MS><Obj N="Cmds" RefId="21"><LST>{cmd}</LST></Obj></MS></Obj>"#
    );
    let refs = r#"<Ref RefId="20"/>"#.repeat(5000);
    let xml = format!(
        r#"<Obj RefId="0"><MS><Obj N="PowerShell" RefId="1"><MS><Obj N="ExtraCmds" RefId="3"><LST>{entry}{refs}</LST></Obj><Obj N="Cmds" RefId="2"><LST><Ref RefId="10"/></LST></Obj></MS></Obj><B N="NoInput">true</B></MS></Obj>"#
    );
    let e = parse_create_pipeline(xml.as_bytes(), &limits()).unwrap_err();
    assert_eq!(e.limit_name(), Some("max_commands"), "{e}");
}
