//! `runspace-gateway ratelimit status`.

use std::process::ExitCode;

#[derive(Debug, clap::Subcommand)]
pub enum RatelimitCommand {
    /// Show the rules and the keys most throttled recently.
    Status,
}

pub fn run(_c: RatelimitCommand) -> ExitCode {
    super::fail("ratelimit is not built yet")
}
