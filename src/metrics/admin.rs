//! The metrics route the admin API mounts: `GET /metrics` for Prometheus.

use super::{Metrics, CONTENT_TYPE};
use crate::admin::Handler;
use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};
use http_body_util::Full;
use std::sync::Arc;

/// The conventional scrape path.
pub const METRICS_PATH: &str = "/metrics";

/// The handler for `GET` [`METRICS_PATH`]. Mount it public only where the admin listener is
/// on a private network; otherwise give Prometheus an admin token (`authorization` in its
/// scrape config).
pub fn metrics_route(metrics: Metrics) -> Handler {
    Arc::new(move |_call| {
        let mut reply = Response::new(Full::new(Bytes::from(metrics.render())));
        *reply.status_mut() = StatusCode::OK;
        reply
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
        Box::pin(async move { reply })
    })
}
