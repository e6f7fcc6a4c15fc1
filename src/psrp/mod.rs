//! PSRP (MS-PSRP): fragments, messages and CLIXML, shared by the gateway's inspector and the
//! mock endpoint.
//!
//! - [`fragment`]: the 21-byte big-endian fragment header; split and join messages.
//! - [`message`]: the 40-byte little-endian message header and message types.
//! - [`escape`]: `_xHHHH_` string escaping.
//! - [`clixml`]: CLIXML into a value tree.
//! - [`write`]: CLIXML and server messages out (the mock endpoint, synthetic replies).
//! - [`xpress`]: WS-Man stream compression framing (stored blocks).

pub mod clixml;
pub mod escape;
pub mod fragment;
pub mod message;
pub mod write;
pub mod xpress;
