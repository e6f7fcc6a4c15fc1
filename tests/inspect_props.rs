//! Property: any split of a valid CREATE_PIPELINE into fragments, and of the fragments into a
//! Command and Send calls, gives the same invocation as sending it whole.

use proptest::prelude::*;
use runspace_gateway::config::InspectLimits;
use runspace_gateway::inspect::build::{self, s, CmdSpec};
use runspace_gateway::inspect::WinrmInspector;
use runspace_gateway::invocation::Invocation;
use runspace_gateway::psrp::{fragment, message::MessageType};
use uuid::Uuid;

const SHELL: &str = "76056A84-51DC-4F24-9262-CA2A55464B2B";
const CMD: &str = "E888E1DF-C962-41D6-BEFD-F2C82D0ABCCA";

fn message(cmds: &[Vec<CmdSpec>]) -> Vec<u8> {
    let xml = build::create_pipeline_xml(cmds, true);
    build::message(
        MessageType::CreatePipeline,
        Uuid::nil(),
        Uuid::nil(),
        xml.as_bytes(),
    )
}

fn opened() -> WinrmInspector {
    let w = WinrmInspector::new(InspectLimits::default());
    let cap = build::message(
        MessageType::SessionCapability,
        Uuid::nil(),
        Uuid::nil(),
        b"<Obj RefId=\"0\"/>",
    );
    let creation = fragment::encode_message(1, &cap, 32_768);
    w.inspect(
        build::create_envelope(SHELL, &creation, false).as_bytes(),
        "u",
        None,
        0,
    )
    .unwrap();
    w
}

/// Send `fragments` with the first `in_command` in the Command and the rest grouped by `groups`.
fn send(msg: &[u8], max_blob: usize, in_command: usize, groups: &[usize]) -> Vec<Invocation> {
    let w = opened();
    let frags = fragment::split_message(7, msg, max_blob);
    let in_command = in_command.clamp(1, frags.len());
    let encode = |fs: &[fragment::Fragment<'_>]| {
        let mut out = Vec::new();
        for f in fs {
            f.encode(&mut out);
        }
        out
    };
    let mut found = Vec::new();
    let r = w
        .inspect(
            build::command_envelope(SHELL, CMD, &encode(&frags[..in_command])).as_bytes(),
            "u",
            None,
            1,
        )
        .unwrap();
    found.extend(r.invocation().cloned());
    let mut rest = &frags[in_command..];
    let mut g = groups.iter().cycle();
    while !rest.is_empty() {
        // One Send holds several streams, each with one or more fragments.
        let take = (*g.next().unwrap_or(&1)).clamp(1, rest.len());
        let (now, later) = rest.split_at(take);
        let streams: Vec<Vec<u8>> = now.chunks(2).map(encode).collect();
        let refs: Vec<&[u8]> = streams.iter().map(Vec::as_slice).collect();
        let r = w
            .inspect(
                build::send_envelope(SHELL, Some(CMD), &refs).as_bytes(),
                "u",
                None,
                2,
            )
            .unwrap();
        found.extend(r.invocation().cloned());
        rest = later;
    }
    found
}

fn arb_pipeline() -> impl Strategy<Value = Vec<Vec<CmdSpec>>> {
    let name = "[A-Za-z]{1,8}-[A-Za-z_]{1,10}";
    let value = prop_oneof![
        "[ -~]{0,30}".prop_map(|v| s(&v)),
        any::<i32>().prop_map(|i| format!("<I32>{i}</I32>")),
        any::<bool>().prop_map(|b| format!("<B>{b}</B>")),
        Just("<Nil/>".to_owned()),
        "\\PC{0,12}".prop_map(|v| s(&v)),
    ];
    let arg = (prop::option::of("-?[A-Za-z]{1,12}:?"), value);
    let cmd = (name, prop::collection::vec(arg, 0..6)).prop_map(|(n, args)| CmdSpec {
        cmd: n,
        is_script: false,
        args: args
            .into_iter()
            .enumerate()
            .map(|(i, (n, v))| (n.map(|n| format!("{n}{i}")), v))
            .collect(),
    });
    prop::collection::vec(prop::collection::vec(cmd, 1..3), 1..4)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_split_gives_the_same_invocation(
        pipeline in arb_pipeline(),
        max_blob in 1usize..400,
        in_command in 1usize..5,
        groups in prop::collection::vec(1usize..6, 1..4),
    ) {
        let msg = message(&pipeline);
        let whole = send(&msg, 1 << 20, 1, &[1]);
        prop_assert_eq!(whole.len(), 1);
        let split = send(&msg, max_blob, in_command, &groups);
        prop_assert_eq!(split, whole);
    }
}
