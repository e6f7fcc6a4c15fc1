//! `runspace-gateway mock-upstream`: the mock management endpoint as its own process.

use crate::config::RuntimeConfig;
use crate::mock::auth::User;
use crate::mock::{MockOptions, MockServer};
use crate::proxy::shutdown_signal;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address to listen on (plain HTTP; keep it on loopback). Port 0 picks a free port,
    /// printed as `listening on ADDR`.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Append one JSON line per executed command to this file, and one per Signal that ended
    /// a command before it ran (`{"signal","stage",...}`, no `cmdlet`).
    #[arg(long)]
    pub log: Option<PathBuf>,
    /// Accepted Basic credentials, NAME:PASSWORD (repeatable). Without any, all credentials
    /// are accepted, but some must be sent.
    #[arg(long = "user", value_name = "NAME:PASSWORD")]
    pub users: Vec<User>,
    /// Threads that serve connections (default, or 0: one per CPU the process may run on).
    /// `1` runs one single-threaded scheduler, which keeps the mock on one core in benchmarks.
    #[arg(long)]
    pub threads: Option<usize>,
}

pub fn run(args: Args) -> ExitCode {
    let threads = RuntimeConfig {
        worker_threads: args.threads.unwrap_or(0),
    };
    if let Err(e) = threads.validate() {
        return super::fail(format!("--threads: {}", e.message));
    }
    let scheduler = threads.scheduler(super::runtime::available_cpus());
    let runtime = match super::runtime::build(scheduler) {
        Ok(r) => r,
        Err(e) => return super::fail(format!("cannot start the async runtime: {e}")),
    };
    let opts = MockOptions {
        users: args.users,
        log: args.log,
        receive_wait: None,
    };
    runtime.block_on(async move {
        let server = match MockServer::bind(args.listen, opts).await {
            Ok(s) => s,
            Err(e) => return super::fail(e),
        };
        match server.local_addr() {
            Ok(addr) => announce(addr),
            Err(e) => return super::fail(format!("mock listener has no address: {e}")),
        }
        match server.run(shutdown_signal()).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => super::fail(e),
        }
    })
}

/// The line tests and scripts wait for before connecting.
fn announce(addr: SocketAddr) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "listening on {addr}");
    let _ = out.flush();
}
