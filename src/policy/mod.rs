//! Approval policies and the pure `decide()`.
//!
//! - [`name`] and [`aliases`]: how a command name becomes a comparison key.
//! - [`code`]: the code the gateway cannot check (scripts, script blocks, code-running cmdlets).
//! - [`pattern`] and [`compiled`]: the policy set compiled into flat-cost lookup tables.
//! - [`decide()`]: the whole security decision, on one screen; [`decision`] its result.
//! - [`limits`]: the rate-limit seam.

pub mod aliases;
pub mod code;
pub mod compiled;
mod decide;
pub mod decision;
pub mod limits;
mod message;
pub mod name;
pub mod pattern;
pub mod record;

pub use compiled::{principal_key, strip_module, Policies, PolicyError};
pub use decide::{decide, decide_input};
pub use decision::{AllowBasis, Allowed, Decision, Denial, DenyKind, GrantUse};
pub use limits::{NoLimits, RateCheck, Throttle};
pub use message::{foreign_shell, policies_unavailable, uninspectable};
