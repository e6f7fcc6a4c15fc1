//! Approval policies and the pure `decide()`.

pub mod record;
