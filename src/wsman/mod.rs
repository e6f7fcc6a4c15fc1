//! See the crate-level layout in `lib.rs`.

pub mod response;
