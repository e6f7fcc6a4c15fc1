//! # runspace-gateway
//!
//! A TLS reverse proxy that enforces Zero Standing Access on PowerShell management endpoints,
//! one cmdlet at a time.
//!
//! # Layout
//!
//! The data path, in the order a request meets it:
//!
//! - [`proxy`]: the TLS listener, HTTP/1.1 serving, limits, forwarding to the endpoint.
//! - [`inspect`]: bytes in, one normalised [`invocation::Invocation`] (or a precise error) out.
//!   It builds on [`wsman`] (SOAP envelopes) and [`psrp`] (fragments, messages, CLIXML), and
//!   reads REST JSON and the caller's identity.
//! - [`policy`]: the policy set and the pure `decide()`; [`grants`] holds live grants.
//! - [`ratelimit`]: governor quotas per principal, cmdlet, tenant or globally.
//! - [`audit`]: the hash-chained record written before a call goes on.
//! - [`refuse`]: refusals in the protocol's own shape (SOAP fault, OData error).
//! - [`gateway`]: the request filter joining them: inspect, decide, audit, forward or refuse.
//!
//! The control path: [`workflow`] (requests, approvals, grants) over [`store`] (SQLite),
//! driven through [`admin`] (the HTTPS admin API) and [`notify`] (SMTP, webhook).
//!
//! Around them: [`config`] (strict TOML), [`certs`] (dev certificates), [`mock`] (a mock
//! management endpoint), [`metrics`] (Prometheus) and [`cli`] (the command line).

#![forbid(unsafe_code)]

pub mod admin;
pub mod app;
pub mod audit;
pub mod certs;
pub mod cli;
pub mod clock;
pub mod config;
pub mod gateway;
pub mod grants;
pub mod inspect;
pub mod invocation;
pub mod metrics;
pub mod mock;
pub mod notify;
pub mod policy;
pub mod proxy;
pub mod psrp;
pub mod ratelimit;
pub mod refuse;
pub mod store;
pub mod workflow;
pub mod wsman;
