//! `runspace-gateway mock-upstream`.

use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> ExitCode {
    super::fail("mock-upstream is not built yet")
}
