//! Running a pipeline on the mock. The shared inspector has read CREATE_PIPELINE (so the mock
//! sees a command exactly as the gateway does); each command of each statement is "executed",
//! which records it and yields its output object.

use super::echo::Caller;
use super::MockState;
use crate::config::InspectLimits;
use crate::inspect::pipeline::ParsedPipeline;
use crate::psrp::clixml::{self, ClixmlLimits, Value};
use crate::psrp::write;

/// Run every command of a pipeline; returns one CLIXML output object per command.
pub fn run(
    state: &MockState,
    caller: &Caller<'_>,
    parsed: &ParsedPipeline,
) -> Result<Vec<String>, String> {
    let mut outputs = Vec::new();
    for command in parsed.statements.iter().flatten() {
        let record = state
            .execute(caller, command)
            .map_err(|e| format!("the mock could not write its command log: {e}"))?;
        outputs.push(write::custom_object(&record));
    }
    Ok(outputs)
}

/// The call id `ci` of a runspace-management request, echoed in RUNSPACE_AVAILABILITY.
pub fn call_id(data: &[u8]) -> i64 {
    let limits = ClixmlLimits::from_config(&InspectLimits::default());
    let root = clixml::parse(data, &limits).ok();
    match root
        .as_ref()
        .and_then(Value::as_obj)
        .and_then(|o| o.member("ci"))
    {
        Some(Value::Int(ci)) => *ci,
        _ => 0,
    }
}
