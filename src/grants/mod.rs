//! The live grants map read by `decide()`.

mod live;
pub mod record;

pub use live::{GrantError, Grants, LiveScope};
pub use record::{GrantRecord, GrantScope};
