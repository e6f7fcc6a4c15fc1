//! The daemon assembled: one place that `serve` and `dev` both start from.
//!
//! With `[pam] enabled` it joins the data path and the control path around ONE audit log (two
//! writers on one file would break the hash chain): the gateway state and its rate limiter
//! (with metrics), the workflow runtime (store, restored grants, outbox, expiry, admin API with
//! `/v1/ratelimit`, `/metrics` and `POST /v1/reload`), the proxy with the [`Gateway`] filter,
//! the timers (grant sweep, rate-limit cleanup, gauges) and the reload triggers (SIGHUP and the
//! admin route). Without `[pam]` it is a plain reverse proxy ([`PassThrough`]), as before.

mod reload;
mod timers;

pub use reload::{ReloadOutcome, RELOAD_PATH};

use crate::audit::{AuditEvent, AuditLog, EventKind};
use crate::clock::SharedClock;
use crate::config::Config;
use crate::gateway::{serve::build_with_limits, Gateway};
use crate::metrics::{Metrics, MetricsOptions};
use crate::proxy::filter::SharedFilter;
use crate::proxy::{PassThrough, Server};
use crate::ratelimit::RateLimiter;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// What the daemon keeps while it runs.
pub struct Running {
    /// Where the gateway (the TLS proxy) listens.
    pub gateway_addr: SocketAddr,
    /// Where the admin API listens, when `[pam]` and `[admin]` are configured.
    pub admin_addr: Option<SocketAddr>,
    server: JoinHandle<()>,
    audit: Option<Arc<AuditLog>>,
}

/// Starting the daemon.
pub struct App;

impl App {
    /// Start everything; it all stops when `shutdown` turns true. `config_path` is the file
    /// re-read on reload (`None`: reload is refused).
    pub async fn start(
        config: Config,
        config_path: Option<PathBuf>,
        clock: SharedClock,
        shutdown: watch::Receiver<bool>,
    ) -> Result<Running, String> {
        if !config.pam.enabled {
            let filter: SharedFilter = Arc::new(PassThrough);
            return serve_proxy(&config, filter, None, shutdown).await;
        }
        let metrics = Metrics::new(MetricsOptions {
            known_cmdlets: known_cmdlets(&config),
            max_cmdlet_labels: None,
        });
        let limiter = RateLimiter::new(&config.ratelimit, clock.clone())
            .map_err(|e| format!("{}: {}", e.key, e.message))?
            .with_metrics(metrics.clone());
        let limiter = Arc::new(limiter);
        let built = build_with_limits(&config, clock.clone(), limiter.clone())?;
        let state = built.state;
        let audit = built.audit;
        let parts = reload::Parts {
            path: config_path,
            state: state.clone(),
            limiter: limiter.clone(),
            audit: audit.clone(),
            metrics: metrics.clone(),
            workflow: Arc::new(std::sync::OnceLock::new()),
        };
        let routes = {
            let (limiter, clock, metrics, parts) = (
                limiter.clone(),
                clock.clone(),
                metrics.clone(),
                parts.clone(),
            );
            move |api: crate::admin::AdminApi| {
                api.with_route(
                    http::Method::GET,
                    crate::ratelimit::STATUS_PATH,
                    false,
                    crate::ratelimit::status_route(limiter, clock),
                )
                .with_route(
                    http::Method::GET,
                    crate::metrics::METRICS_PATH,
                    false,
                    crate::metrics::metrics_route(metrics),
                )
                .with_route(http::Method::POST, RELOAD_PATH, false, parts.route())
            }
        };
        let control = crate::workflow::runtime::start(
            &config,
            clock.clone(),
            audit.clone(),
            state.clone(),
            routes,
            shutdown.clone(),
        )
        .await?;
        let _ = parts.workflow.set(control.workflow.clone());
        timers::spawn(&state, &limiter, &metrics, &control.workflow, &shutdown);
        reload::spawn_sighup(parts, shutdown.clone());
        audit_lifecycle(&audit, EventKind::GatewayStart, &config).await?;
        let filter: SharedFilter = Arc::new(Gateway::new(state).with_metrics(metrics));
        let mut running = serve_proxy(&config, filter, Some(audit), shutdown).await?;
        running.admin_addr = control.admin_addr;
        Ok(running)
    }
}

impl Running {
    /// Wait for the proxy to drain after shutdown, then record `gateway.stop` and close the log.
    pub async fn finish(self) {
        let _ = self.server.await;
        if let Some(audit) = self.audit {
            if let Err(e) = audit.append(AuditEvent::new(EventKind::GatewayStop)).await {
                tracing::error!(error = %e, "gateway.stop not audited");
            }
            if let Ok(log) = Arc::try_unwrap(audit) {
                match log.close().await {
                    Ok(tip) => tracing::info!(seq = tip.seq, "audit log closed"),
                    Err(e) => tracing::error!(error = %e, "audit log close failed"),
                }
            }
        }
    }
}

async fn serve_proxy(
    config: &Config,
    filter: SharedFilter,
    audit: Option<Arc<AuditLog>>,
    shutdown: watch::Receiver<bool>,
) -> Result<Running, String> {
    let server = Server::bind(config, filter)
        .await
        .map_err(|e| format!("gateway: {e}"))?;
    let gateway_addr = server.local_addr();
    let server = tokio::spawn(server.run(stopped(shutdown)));
    Ok(Running {
        gateway_addr,
        admin_addr: None,
        server,
        audit,
    })
}

/// Resolves when `shutdown` turns true.
pub(crate) async fn stopped(mut shutdown: watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// `gateway.start` must be written before the listener opens: a gateway that cannot audit
/// does not start.
async fn audit_lifecycle(log: &AuditLog, kind: EventKind, config: &Config) -> Result<(), String> {
    let event = AuditEvent::new(kind).with_reason(format!(
        "listen {}; upstream {}; mode {:?}",
        config.listen.addr, config.upstream.url, config.pam.mode
    ));
    log.append(event)
        .await
        .map(|_| ())
        .map_err(|e| format!("audit log {}: {e}", config.audit.path.display()))
}

/// Cmdlets named by the config's policies get their own metric label.
fn known_cmdlets(config: &Config) -> Vec<String> {
    config
        .policy
        .iter()
        .filter_map(|p| p.task.clone())
        .chain(config.roles.values().flatten().cloned())
        .collect()
}
