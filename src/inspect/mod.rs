//! Inspection: request bytes in, one normalised [`crate::invocation::Invocation`] or a precise
//! [`error::InspectError`] out. Sans-I/O, so the gateway, `inspect`, fuzz targets and benchmarks
//! share it.

pub mod build;
pub mod error;
pub mod identity;
mod inspector;
pub mod json;
pub mod pipeline;
pub mod reassembly;
pub mod redact;
pub mod rest;
pub mod session;
pub mod values;
pub mod winrm;
pub mod xml;

pub use error::{InspectError, Layer};
pub use inspector::{query_param, Inspection, Inspector};
pub use pipeline::{parse_create_pipeline, ParsedPipeline};
pub use winrm::{WinrmInspection, WinrmInspector, WinrmOutcome};
