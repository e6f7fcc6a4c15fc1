//! `winrm-load winrm`: shells running Command/Receive/Signal cycles, closed loop or fixed rate.

use crate::conn::{post, Target, TlsArgs};
use crate::psrp;
use crate::soap::{self, Session};
use crate::stats::Samples;
use base64::Engine;
use bytes::Bytes;
use http_body_util::Full;
use hyper::client::conn::http1::SendRequest;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use uuid::Uuid;

#[derive(clap::Args)]
pub struct Args {
    /// The WinRM endpoint, e.g. https://127.0.0.1:8443/wsman.
    #[arg(long)]
    url: String,
    #[command(flatten)]
    tls: TlsArgs,
    /// Basic-auth user (the principal the gateway sees).
    #[arg(long, default_value = "alice@contoso.com")]
    user: String,
    #[arg(long, default_value = "bench")]
    password: String,
    /// Open shells, one per keep-alive connection.
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// Measured seconds.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Seconds run before measuring starts.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Cycles per second; latency is then measured from each cycle's due time. Omit for the
    /// maximum (every shell starts its next cycle as soon as the last one ends).
    #[arg(long)]
    rate: Option<f64>,
    /// The cmdlet each pipeline runs.
    #[arg(long, default_value = "Get-Mailbox")]
    cmdlet: String,
    /// Tokio worker threads.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Receives allowed per cycle before the command counts as failed.
    #[arg(long, default_value_t = 20)]
    max_receives: usize,
}

pub fn run(args: Args) -> Result<String, String> {
    crate::runtime(args.threads)?.block_on(drive(Arc::new(args)))
}

/// The schedule every worker reads.
struct Plan {
    args: Arc<Args>,
    target: Target,
    authorization: String,
    /// When the run (warm-up included) began; fixed-rate cycle i is due at origin + i/rate.
    origin: Instant,
    measure_from: Instant,
    end: Instant,
    next_cycle: AtomicU64,
}

/// What one worker measured.
#[derive(Default)]
struct Tally {
    samples: Samples,
    requests: u64,
    errors: u64,
    first_error: Option<String>,
}

async fn drive(args: Arc<Args>) -> Result<String, String> {
    if let Some(rate) = args.rate {
        if !(rate > 0.0 && rate.is_finite()) {
            return Err(format!("--rate {rate}: must be a positive number"));
        }
    }
    let target = Target::parse(&args.url, &args.tls)?;
    let authorization = basic(&args.user, &args.password);
    let mut shells = Vec::with_capacity(args.connections);
    for _ in 0..args.connections.max(1) {
        shells.push(Shell::open(&target, &authorization).await?);
    }
    let origin = Instant::now();
    let measure_from = origin + Duration::from_secs_f64(args.warmup);
    let plan = Arc::new(Plan {
        end: measure_from + Duration::from_secs_f64(args.duration),
        args: args.clone(),
        target,
        authorization,
        origin,
        measure_from,
        next_cycle: AtomicU64::new(0),
    });
    let workers: Vec<_> = shells
        .into_iter()
        .map(|shell| tokio::spawn(worker(plan.clone(), shell)))
        .collect();
    let mut total = Tally::default();
    for w in workers {
        let t = w.await.map_err(|e| format!("worker: {e}"))?;
        total.samples.merge(t.samples);
        total.requests += t.requests;
        total.errors += t.errors;
        total.first_error = total.first_error.or(t.first_error);
    }
    Ok(report(&args, total).to_string())
}

fn report(args: &Args, total: Tally) -> serde_json::Value {
    let cycles = total.samples.len() as f64 + total.samples.dropped as f64;
    serde_json::json!({
        "tool": "winrm-load",
        "mode": if args.rate.is_some() { "rate" } else { "max" },
        "target_rate": args.rate,
        "connections": args.connections,
        "duration_s": args.duration,
        "cycles": cycles,
        "requests": total.requests,
        "errors": total.errors,
        "first_error": total.first_error,
        "throughput": cycles / args.duration,
        "requests_per_s": total.requests as f64 / args.duration,
        "latency_ms": total.samples.summary(),
    })
}

async fn worker(plan: Arc<Plan>, mut shell: Shell) -> Tally {
    let tally = cycles(&plan, &mut shell).await;
    // Close the pool as a client would; not measured, and a failure here changes nothing.
    let delete = shell.session.delete(&shell.shell_id);
    let _ = shell.send(&plan.target, &plan.authorization, delete).await;
    tally
}

async fn cycles(plan: &Plan, shell: &mut Shell) -> Tally {
    let mut tally = Tally::default();
    loop {
        let due = match plan.args.rate {
            Some(rate) => {
                let i = plan.next_cycle.fetch_add(1, Ordering::Relaxed);
                let due = plan.origin + Duration::from_secs_f64(i as f64 / rate);
                if due >= plan.end {
                    break;
                }
                tokio::time::sleep_until(due).await;
                due
            }
            None => {
                let now = Instant::now();
                if now >= plan.end {
                    break;
                }
                now
            }
        };
        let result = shell.cycle(plan).await;
        let measured = due >= plan.measure_from;
        match result {
            Ok(requests) if measured => {
                tally.samples.record(due.elapsed().as_micros() as u64);
                tally.requests += requests;
            }
            Ok(_) => {}
            Err(e) => {
                tally.errors += u64::from(measured);
                tally.first_error.get_or_insert(e);
                match Shell::open(&plan.target, &plan.authorization).await {
                    Ok(fresh) => *shell = fresh,
                    Err(e) => {
                        tally.first_error.get_or_insert(e);
                        break;
                    }
                }
            }
        }
    }
    tally
}

/// Done when the server says so in either layer: WS-Man CommandState Done, or a PSRP
/// PIPELINE_STATE message (what pypsrp waits for).
fn finished(response: &str) -> bool {
    soap::command_done(response)
        || soap::streams(response)
            .iter()
            .any(|s| psrp::message_types(s).contains(&psrp::PIPELINE_STATE))
}

fn basic(user: &str, password: &str) -> String {
    let raw = format!("{user}:{password}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

/// One open RunspacePool on its own keep-alive connection.
struct Shell {
    sender: SendRequest<Full<Bytes>>,
    session: Session,
    shell_id: String,
    rpid: Uuid,
    /// PSRP ObjectIds are per pool; 1 and 2 went to the creationXml.
    next_object_id: u64,
}

impl Shell {
    async fn open(target: &Target, authorization: &str) -> Result<Shell, String> {
        let sender = target.connect().await?;
        let rpid = Uuid::new_v4();
        let mut shell = Shell {
            sender,
            session: Session {
                to: format!("https://{}{}", target.authority, target.path),
                session_id: soap::upper_uuid(),
            },
            shell_id: rpid.to_string().to_ascii_uppercase(),
            rpid,
            next_object_id: 3,
        };
        let create = shell
            .session
            .create(&shell.shell_id, &psrp::creation_xml(rpid));
        let created = shell.send(target, authorization, create).await?;
        if let Some(id) = soap::created_shell_id(&created) {
            shell.shell_id = id;
        }
        for _ in 0..10 {
            let receive = shell.session.receive(&shell.shell_id, None);
            let response = shell.send(target, authorization, receive).await?;
            let opened = soap::streams(&response)
                .iter()
                .any(|s| psrp::message_types(s).contains(&psrp::RUNSPACEPOOL_STATE));
            if opened {
                return Ok(shell);
            }
        }
        Err("the pool never reported RUNSPACEPOOL_STATE after 10 Receives".into())
    }

    /// Command, Receive until Done, Signal. Returns the number of requests it took.
    async fn cycle(&mut self, plan: &Plan) -> Result<u64, String> {
        let (target, auth) = (&plan.target, plan.authorization.as_str());
        let pid = Uuid::new_v4();
        let command_id = pid.to_string().to_ascii_uppercase();
        let object_id = self.next_object_id;
        self.next_object_id += 1;
        let args =
            psrp::create_pipeline(self.rpid, pid, object_id, &plan.args.cmdlet, "bench-user");
        let command = self.session.command(&self.shell_id, &command_id, &args);
        self.send(target, auth, command).await?;
        let mut requests = 1;
        loop {
            if requests > plan.args.max_receives as u64 {
                return Err(format!(
                    "command {command_id} not Done after {} Receives",
                    plan.args.max_receives
                ));
            }
            let receive = self.session.receive(&self.shell_id, Some(&command_id));
            let response = self.send(target, auth, receive).await?;
            requests += 1;
            if finished(&response) {
                break;
            }
        }
        let signal = self.session.signal_terminate(&self.shell_id, &command_id);
        self.send(target, auth, signal).await?;
        Ok(requests + 1)
    }

    async fn send(&mut self, target: &Target, auth: &str, body: String) -> Result<String, String> {
        let (status, body) = post(&mut self.sender, target, auth, body).await?;
        let text = String::from_utf8_lossy(&body).into_owned();
        if status != http::StatusCode::OK {
            let head: String = text.chars().take(400).collect();
            return Err(format!("HTTP {status}: {head}"));
        }
        Ok(text)
    }
}
