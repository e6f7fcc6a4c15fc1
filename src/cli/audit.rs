//! `runspace-gateway audit verify|search`.

use std::process::ExitCode;

#[derive(Debug, clap::Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain of one or more audit files, in order.
    Verify { files: Vec<std::path::PathBuf> },
}

pub fn run(_c: AuditCommand) -> ExitCode {
    super::fail("audit is not built yet")
}
