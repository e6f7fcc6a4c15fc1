//! Inspection: request bytes in, one normalised [`crate::invocation::Invocation`] or a precise
//! [`error::InspectError`] out. Sans-I/O, so the gateway, `inspect`, fuzz targets and benchmarks
//! share it.

pub mod error;
pub mod xml;

pub use error::{InspectError, Layer};
