//! `runspace-gateway serve`: load the config, start the listener, run until SIGTERM/SIGINT.

use crate::config::Config;
use crate::proxy::{shutdown_signal, PassThrough, Server};
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
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return super::fail(format!("cannot start the async runtime: {e}")),
    };
    runtime.block_on(async {
        let server = match Server::bind(&config, Arc::new(PassThrough)).await {
            Ok(server) => server,
            Err(e) => return super::fail(format!("cannot start: {e}")),
        };
        announce(server.local_addr());
        server.run(shutdown_signal()).await;
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
