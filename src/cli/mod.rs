//! The command line: one subcommand per file, each with its own `Args` and `run`.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

mod admin_client;
mod audit;
mod certs;
mod dev;
mod inspect;
mod mock;
mod ratelimit;
mod runtime;
mod serve;

#[derive(Debug, Parser)]
#[command(
    name = "runspace-gateway",
    version,
    about = "Zero Standing Access for PowerShell management endpoints"
)]
pub struct Cli {
    /// Log as JSON lines instead of human-readable text.
    #[arg(long, global = true)]
    pub log_json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gateway daemon.
    Serve(serve::Args),
    /// Run everything on this machine: dev certificates, mock endpoint, gateway, sample policy.
    Dev(dev::Args),
    /// Run the mock management endpoint (WinRM/PSRP and REST), for tests and demos.
    MockUpstream(mock::Args),
    /// Write a dev CA, a server certificate and a client certificate.
    Certs(certs::Args),
    /// Parse captured request bodies into normalised invocations (JSON lines).
    Inspect(inspect::Args),
    /// Approval policies (admin API).
    #[command(subcommand)]
    Policy(admin_client::PolicyCommand),
    /// Elevated-access requests (admin API).
    #[command(subcommand)]
    Request(admin_client::RequestCommand),
    /// Active grants (admin API).
    #[command(subcommand)]
    Grant(admin_client::GrantCommand),
    /// The audit trail: verify the hash chain, search records.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Rate limits (admin API).
    #[command(subcommand)]
    Ratelimit(ratelimit::RatelimitCommand),
}

/// Parse the command line, set up logging and run the subcommand.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_json);
    match cli.command {
        Command::Serve(a) => serve::run(a),
        Command::Dev(a) => dev::run(a),
        Command::MockUpstream(a) => mock::run(a),
        Command::Certs(a) => certs::run(a),
        Command::Inspect(a) => inspect::run(a),
        Command::Policy(c) => admin_client::run_policy(c),
        Command::Request(c) => admin_client::run_request(c),
        Command::Grant(c) => admin_client::run_grant(c),
        Command::Audit(c) => audit::run(c),
        Command::Ratelimit(c) => ratelimit::run(c),
    }
}

fn init_logging(json: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Print an error for a person and return the failure exit code.
pub(crate) fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("runspace-gateway: {message}");
    ExitCode::from(1)
}
