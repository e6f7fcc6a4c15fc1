//! `winrm-load hold`: open N TLS connections, finish every handshake, and keep them idle so the
//! script can read the server's resident memory with them open.

use crate::conn::{Target, TlsArgs};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

#[derive(clap::Args)]
pub struct Args {
    /// An https:// URL of the server to hold connections to.
    #[arg(long)]
    url: String,
    #[command(flatten)]
    tls: TlsArgs,
    /// Connections to open.
    #[arg(long, default_value_t = 10_000)]
    connections: usize,
    /// Handshakes in flight at once.
    #[arg(long, default_value_t = 64)]
    parallel: usize,
    /// Seconds to hold them after the last handshake, then exit.
    #[arg(long, default_value_t = 30.0)]
    hold: f64,
    #[arg(long, default_value_t = 1)]
    threads: usize,
}

pub fn run(args: Args) -> Result<String, String> {
    crate::runtime(args.threads)?.block_on(hold(args))
}

async fn hold(args: Args) -> Result<String, String> {
    let target = Arc::new(Target::parse(&args.url, &args.tls)?);
    let gate = Arc::new(Semaphore::new(args.parallel.max(1)));
    let mut tasks = Vec::with_capacity(args.connections);
    for _ in 0..args.connections {
        let (target, gate) = (target.clone(), gate.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await.map_err(|e| e.to_string())?;
            target.tls_only().await
        }));
    }
    let mut open = Vec::with_capacity(args.connections);
    let mut failed = 0u64;
    let mut first_error = None;
    for t in tasks {
        match t.await.map_err(|e| e.to_string()).and_then(|r| r) {
            Ok(stream) => open.push(stream),
            Err(e) => {
                failed += 1;
                first_error.get_or_insert(e);
            }
        }
    }
    // The script waits for this line on stderr, then measures; stdout keeps the JSON.
    eprintln!("holding {} connections ({failed} failed)", open.len());
    tokio::time::sleep(Duration::from_secs_f64(args.hold)).await;
    let held = open.len();
    drop(open);
    Ok(serde_json::json!({"tool": "winrm-load hold", "held": held, "failed": failed, "first_error": first_error}).to_string())
}
