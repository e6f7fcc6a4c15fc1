//! `runspace-gateway policy|request|grant ...`: a client of the admin API.

use std::process::ExitCode;

#[derive(Debug, clap::Subcommand)]
pub enum PolicyCommand {
    /// List policies.
    List,
}

#[derive(Debug, clap::Subcommand)]
pub enum RequestCommand {
    /// List requests.
    List,
}

#[derive(Debug, clap::Subcommand)]
pub enum GrantCommand {
    /// List active grants.
    List,
}

pub fn run_policy(_c: PolicyCommand) -> ExitCode {
    super::fail("policy is not built yet")
}
pub fn run_request(_c: RequestCommand) -> ExitCode {
    super::fail("request is not built yet")
}
pub fn run_grant(_c: GrantCommand) -> ExitCode {
    super::fail("grant is not built yet")
}
