//! The TLS listener, HTTP/1.1 serving and forwarding to the endpoint.

pub mod filter;
