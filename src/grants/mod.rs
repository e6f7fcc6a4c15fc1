//! The live grants map read by `decide()`.

pub mod record;
