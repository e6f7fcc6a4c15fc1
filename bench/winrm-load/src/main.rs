//! `winrm-load`: the load client `bench/run` uses where `oha` cannot go.
//!
//! - `winrm`: opens WinRM shells and drives Command/Receive/Signal cycles through them, at the
//!   maximum (closed loop) or at a fixed rate with latency correction (each cycle's latency is
//!   measured from when it was due, not from when a free connection picked it up).
//! - `hold`: opens N TLS connections, completes the handshakes and keeps them idle, so the script
//!   can read the server's memory per idle connection.
//!
//! It prints one JSON object on stdout; `bench/report.py` reads it.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

mod conn;
mod hold;
mod load;
mod psrp;
mod soap;
mod stats;

#[derive(Parser)]
#[command(name = "winrm-load", about = "Load client for bench/run")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Drive WinRM Command/Receive/Signal cycles through open shells.
    Winrm(load::Args),
    /// Open N TLS connections and hold them idle.
    Hold(hold::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Winrm(args) => load::run(args),
        Command::Hold(args) => hold::run(args),
    };
    match result {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("winrm-load: {message}");
            ExitCode::from(1)
        }
    }
}

/// A single-threaded-or-more tokio runtime: the script pins this process to one core, so one
/// worker thread is the default and avoids two threads fighting over it.
pub fn runtime(threads: usize) -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the tokio runtime: {e}"))
}
