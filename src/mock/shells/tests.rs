use super::*;
use crate::psrp::message::Destination;

const RPID: &str = "018bac11-0d5d-444a-98f4-64e68fdefb1f";

fn client_message(t: MessageType, pid: Uuid, clixml: &str) -> Vec<u8> {
    Message {
        destination: Destination::Server,
        message_type: t,
        rpid: Uuid::parse_str(RPID).unwrap(),
        pid,
        data: clixml.as_bytes(),
    }
    .to_bytes()
}

fn one_fragment(object_id: u64, message: &[u8]) -> Vec<u8> {
    fragment::encode_message(object_id, message, usize::MAX)
}

fn types(frags: &[Vec<u8>]) -> Vec<MessageType> {
    let joined: Vec<u8> = frags.concat();
    let mut pending = Vec::new();
    let mut out = Vec::new();
    for f in fragment::fragments(&joined) {
        let f = f.unwrap();
        pending.extend_from_slice(f.blob);
        if f.end {
            out.push(Message::parse(&pending).unwrap().message_type);
            pending.clear();
        }
    }
    out
}

const INIT: &str =
    r#"<Obj RefId="0"><MS><I32 N="MinRunspaces">1</I32><I32 N="MaxRunspaces">1</I32></MS></Obj>"#;

#[test]
fn init_runspacepool_queues_the_handshake_with_the_clients_rpid() {
    let mut shell = Shell::new("S".into(), "u".into(), None);
    let msg = client_message(MessageType::InitRunspacePool, Uuid::nil(), INIT);
    assert!(shell
        .receive_fragments(&Target::Pool, &one_fragment(1, &msg))
        .unwrap()
        .is_empty());
    let (frags, done) = shell.take_output(&Target::Pool).unwrap();
    assert!(!done, "pool output has no command state");
    assert_eq!(
        types(&frags),
        vec![
            MessageType::SessionCapability,
            MessageType::ApplicationPrivateData,
            MessageType::RunspacePoolState
        ]
    );
    let state = fragment::fragments(&frags[2]).next().unwrap().unwrap();
    assert_eq!(
        Message::parse(state.blob).unwrap().rpid,
        Uuid::parse_str(RPID).unwrap()
    );
    assert!(shell.take_output(&Target::Pool).is_none(), "drained");
}

#[test]
fn a_message_split_over_several_calls_is_reassembled() {
    let mut shell = Shell::new("S".into(), "u".into(), None);
    let msg = client_message(MessageType::InitRunspacePool, Uuid::nil(), INIT);
    let frags = fragment::split_message(9, &msg, 10);
    assert!(frags.len() > 3);
    for f in &frags {
        let mut bytes = Vec::new();
        f.encode(&mut bytes);
        shell.receive_fragments(&Target::Pool, &bytes).unwrap();
    }
    assert_eq!(types(&shell.take_output(&Target::Pool).unwrap().0).len(), 3);
}

#[test]
fn a_continuation_without_its_start_is_refused() {
    let mut shell = Shell::new("S".into(), "u".into(), None);
    let msg = client_message(MessageType::InitRunspacePool, Uuid::nil(), INIT);
    let frags = fragment::split_message(9, &msg, 10);
    let mut second = Vec::new();
    frags[1].encode(&mut second);
    let err = shell.receive_fragments(&Target::Pool, &second).unwrap_err();
    assert!(err.0.contains("without its start fragment"), "{}", err.0);
}

#[test]
fn incomplete_messages_are_capped_at_max_pending_messages() {
    let mut shell = Shell::new("S".into(), "u".into(), None);
    let msg = client_message(MessageType::InitRunspacePool, Uuid::nil(), INIT);
    let start_of = |oid: u64| {
        let mut bytes = Vec::new();
        fragment::split_message(oid, &msg, 10)[0].encode(&mut bytes);
        bytes
    };
    for oid in 1..=MAX_PENDING_MESSAGES as u64 {
        shell
            .receive_fragments(&Target::Pool, &start_of(oid))
            .unwrap();
    }
    let err = shell
        .receive_fragments(&Target::Pool, &start_of(1000))
        .unwrap_err();
    assert!(err.0.contains("incomplete PSRP messages"), "{}", err.0);
}

#[test]
fn large_output_is_spread_over_receives_and_done_only_when_drained() {
    let mut shell = Shell::new("S".into(), "u".into(), None);
    shell.add_command("C");
    let big = format!("<S>{}</S>", "x".repeat(MAX_RECEIVE_BYTES * 2));
    shell.complete("C", Uuid::nil(), &[big]);
    let target = Target::Command("C".into());
    let mut rounds = Vec::new();
    while let Some((frags, done)) = shell.take_output(&target) {
        let size: usize = frags.iter().map(Vec::len).sum();
        assert!(size <= MAX_RECEIVE_BYTES, "{size}");
        rounds.push((frags, done));
    }
    assert!(rounds.len() >= 3, "{} rounds", rounds.len());
    assert!(rounds[..rounds.len() - 1].iter().all(|(_, done)| !done));
    assert!(rounds.last().unwrap().1);
    let all: Vec<Vec<u8>> = rounds.into_iter().flat_map(|(f, _)| f).collect();
    assert_eq!(
        types(&all),
        vec![MessageType::PipelineOutput, MessageType::PipelineState]
    );
}

#[test]
fn a_pipeline_that_takes_input_runs_at_end_of_input() {
    let mut shell = Shell::new("S".into(), "u".into(), None);
    shell.add_command("C");
    let pid = Uuid::new_v4();
    let create = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/vectors/psrpcore_create_pipeline.xml"
    ))
    .unwrap()
    .replace(r#"<B N="NoInput">true</B>"#, r#"<B N="NoInput">false</B>"#);
    assert!(create.contains(r#"<B N="NoInput">false</B>"#));
    let target = Target::Command("C".into());
    let msg = client_message(MessageType::CreatePipeline, pid, &create);
    assert!(shell
        .receive_fragments(&target, &one_fragment(1, &msg))
        .unwrap()
        .is_empty());
    let end = client_message(MessageType::EndOfPipelineInput, pid, "");
    let runs = shell
        .receive_fragments(&target, &one_fragment(2, &end))
        .unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].pid, pid);
    assert!(!runs[0].pipeline.statements.is_empty());
}

#[test]
fn ending_a_command_reports_its_stage_and_drops_its_fragments() {
    let mut shell = Shell::new("S".into(), "u".into(), None);
    let create = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/vectors/psrpcore_create_pipeline.xml"
    ))
    .unwrap();
    let msg = client_message(MessageType::CreatePipeline, Uuid::new_v4(), &create);
    let frags = fragment::split_message(3, &msg, 100);
    let mut first = Vec::new();
    frags[0].encode(&mut first);
    shell.add_command("HALF");
    let half = Target::Command("HALF".into());
    shell.receive_fragments(&half, &first).unwrap();
    assert_eq!(shell.end_command("HALF"), Some(CommandStage::Incomplete));
    assert!(!shell.has_command("HALF"));
    assert!(shell.pending.is_empty(), "its fragments are dropped");
    assert_eq!(shell.end_command("HALF"), None);

    shell.add_command("EMPTY");
    assert_eq!(shell.end_command("EMPTY"), Some(CommandStage::Empty));

    shell.add_command("WHOLE");
    let runs = shell
        .receive_fragments(&Target::Command("WHOLE".into()), &one_fragment(4, &msg))
        .unwrap();
    assert_eq!(runs.len(), 1);
    shell.complete("WHOLE", runs[0].pid, &[]);
    assert_eq!(shell.end_command("WHOLE"), Some(CommandStage::Ran));

    shell.add_command("INPUT");
    let input = client_message(
        MessageType::CreatePipeline,
        Uuid::new_v4(),
        &create.replace(r#"<B N="NoInput">true</B>"#, r#"<B N="NoInput">false</B>"#),
    );
    shell
        .receive_fragments(&Target::Command("INPUT".into()), &one_fragment(5, &input))
        .unwrap();
    assert_eq!(shell.end_command("INPUT"), Some(CommandStage::WaitingInput));
}
