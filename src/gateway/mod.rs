//! The gateway: the request filter that joins the data path.
//!
//! ```text
//! identity -> inspect -> shell bound to its creator -> decide -> AUDIT -> forward | refuse
//! ```
//!
//! - [`filter`]: the [`Gateway`] filter and the REST/WinRM-independent steps.
//! - [`winrm`]: shell ownership, refused commands, pipeline input, the completing request.
//! - [`state`]: [`GatewayState`], shared by every connection; also the workflow's live state.
//! - [`audit`]: the audit call point ([`DecisionAudit`]).
//! - `upstream`: the `upstream.response` record and upstream metrics of a forwarded call.
//! - [`serve`]: building the state from the config file.

pub mod audit;
pub mod filter;
pub mod refused;
pub mod serve;
pub mod state;
mod upstream;
mod winrm;

pub use audit::{DecisionAudit, LogOnlyAudit, MemoryAudit};
pub use filter::Gateway;
pub use state::{GatewayState, PolicyInputs, PolicySlot};
