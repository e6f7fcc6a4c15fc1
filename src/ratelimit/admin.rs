//! The rate-limit route the admin API mounts: `GET /v1/ratelimit`, the status as JSON.

use super::RateLimiter;
use crate::admin::{json, Handler};
use crate::clock::SharedClock;
use http::StatusCode;
use std::sync::Arc;

/// The path `runspace-gateway ratelimit status` calls.
pub const STATUS_PATH: &str = "/v1/ratelimit";

/// The handler for `GET` [`STATUS_PATH`] (mount it authenticated: keys are principals).
pub fn status_route(limiter: Arc<RateLimiter>, clock: SharedClock) -> Handler {
    Arc::new(move |_call| {
        let reply = json(StatusCode::OK, &limiter.status(clock.now_ms()));
        Box::pin(async move { reply })
    })
}
