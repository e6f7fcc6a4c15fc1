//! WS-Management SOAP for PowerShell remoting (protocol.md §1-§2).
//!
//! - [`envelope`]: parse a request envelope (action, ids, PSRP payload).
//! - [`action`]: the operation a request performs.
//! - [`ns`]: namespace and action URIs.
//! - [`response`]: write the responses and faults a WinRM service sends.
//! - [`signal`]: the Signal the gateway sends itself to end a command a refusal left behind.

pub mod action;
pub mod envelope;
pub mod ns;
pub mod response;
pub mod signal;

pub use action::Action;
pub use envelope::{parse_request, Body, DesiredStream, Envelope, SendStream};
pub use signal::SessionHeaders;
