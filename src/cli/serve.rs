//! `runspace-gateway serve`: load the config, start the listener, run until SIGTERM/SIGINT.

use crate::clock::SystemClock;
use crate::config::Config;
use crate::proxy::filter::SharedFilter;
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
        let filter = match request_filter(&config) {
            Ok(filter) => filter,
            Err(e) => return super::fail(format!("cannot start: {e}")),
        };
        let server = match Server::bind(&config, filter).await {
            Ok(server) => server,
            Err(e) => return super::fail(format!("cannot start: {e}")),
        };
        announce(server.local_addr());
        server.run(shutdown_signal()).await;
        ExitCode::SUCCESS
    })
}

/// With `[pam] enabled = true` the gateway inspects, decides and audits every request
/// (`mode = "shadow"` forwards what it would refuse); otherwise it is a plain reverse proxy.
pub(crate) fn request_filter(config: &Config) -> Result<SharedFilter, String> {
    if !config.pam.enabled {
        return Ok(Arc::new(PassThrough));
    }
    let built = crate::gateway::serve::build(config, Arc::new(SystemClock))?;
    crate::gateway::serve::spawn_sweeper(built.state.clone());
    Ok(Arc::new(crate::gateway::Gateway::new(built.state)))
}

/// Print the bound address on its own stdout line (tests and tools parse `listening on ADDR`)
/// and log it.
pub(crate) fn announce(addr: std::net::SocketAddr) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "listening on {addr}");
    let _ = out.flush();
    tracing::info!(%addr, "listening");
}
