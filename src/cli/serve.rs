//! `runspace-gateway serve`: load the config, start the listener, run until SIGTERM/SIGINT.

use crate::clock::SystemClock;
use crate::config::Config;
use crate::proxy::shutdown_signal;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The gateway's TOML configuration file.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
}

pub fn run(args: Args) -> ExitCode {
    let config = match Config::load(&args.config) {
        Ok(config) => config,
        Err(e) => return super::fail(e),
    };
    let scheduler = config.runtime.scheduler(super::runtime::available_cpus());
    let runtime = match super::runtime::build(scheduler) {
        Ok(runtime) => runtime,
        Err(e) => return super::fail(format!("cannot start the async runtime: {e}")),
    };
    runtime.block_on(async {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let clock = Arc::new(SystemClock);
        let path = Some(args.config.clone());
        let running = match crate::app::App::start(config, path, clock, stop_rx).await {
            Ok(running) => running,
            Err(e) => return super::fail(format!("cannot start: {e}")),
        };
        announce(running.gateway_addr);
        if let Some(admin) = running.admin_addr {
            announce_admin(admin);
        }
        shutdown_signal().await;
        let _ = stop_tx.send(true);
        running.finish().await;
        ExitCode::SUCCESS
    })
}

/// Print the bound address on its own stdout line (tests and tools parse `listening on ADDR`)
/// and log it.
pub(crate) fn announce(addr: std::net::SocketAddr) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "listening on {addr}");
    let _ = out.flush();
    tracing::info!(%addr, "listening");
}

/// `admin listening on ADDR`, for tests and tools that call the admin API.
pub(crate) fn announce_admin(addr: std::net::SocketAddr) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "admin listening on {addr}");
    let _ = out.flush();
    tracing::info!(%addr, "admin API listening");
}
