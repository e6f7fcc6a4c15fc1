//! WS-Management SOAP for PowerShell remoting (protocol.md §1-§2).
//!
//! - [`envelope`]: parse a request envelope (action, ids, PSRP payload).
//! - [`action`]: the operation a request performs.
//! - [`ns`]: namespace and action URIs.

pub mod action;
pub mod envelope;
pub mod ns;

pub use action::Action;
pub use envelope::{parse_request, Body, DesiredStream, Envelope, SendStream};
