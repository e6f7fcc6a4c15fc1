//! CLIXML reading and pipeline normalisation on arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use runspace_gateway::config::InspectLimits;
use runspace_gateway::inspect::pipeline;

fuzz_target!(|data: &[u8]| {
    let limits = InspectLimits { max_clixml_objects: 20_000, max_clixml_refs: 20_000, ..InspectLimits::default() };
    let _ = pipeline::parse_create_pipeline(data, &limits);
    let _ = pipeline::parse_get_command_metadata(data, &limits);
    let _ = pipeline::parse_pipeline_input(data, &limits);
});
