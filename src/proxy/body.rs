//! Bodies in both directions: the client's request body under the size and time limits, the
//! body sent to the endpoint, and the body returned to the client.

use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep};

/// Why the client's request body was not read to its end.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BodyError {
    /// More than `[limits] max_body_bytes`.
    #[error("request body exceeds limits.max_body_bytes ({limit} bytes)")]
    TooLarge { limit: u64 },
    /// Not complete within `[limits] body_read_timeout_ms` of the head.
    #[error("request body not received within limits.body_read_timeout_ms ({ms} ms)")]
    Timeout { ms: u64 },
    /// The client broke off or sent a malformed body.
    #[error("reading the request body failed: {0}")]
    Client(String),
}

/// The first [`BodyError`] of a request, kept so that a failed forward can be blamed on the
/// client's body rather than on the endpoint.
pub type BodyOutcome = Arc<OnceLock<BodyError>>;

/// The client's request body, limited in size and in time.
pub struct ClientBody {
    inner: Incoming,
    limit: u64,
    received: u64,
    timeout_ms: u64,
    deadline: Pin<Box<Sleep>>,
    outcome: BodyOutcome,
}

impl ClientBody {
    /// Start the body clock now (the head has just arrived).
    pub fn new(inner: Incoming, limit: u64, timeout_ms: u64, outcome: BodyOutcome) -> Self {
        let deadline = Instant::now() + Duration::from_millis(timeout_ms);
        ClientBody {
            inner,
            limit,
            received: 0,
            timeout_ms,
            deadline: Box::pin(tokio::time::sleep_until(deadline)),
            outcome,
        }
    }

    /// Read the whole body into memory (for the request filter); at most `limit` bytes.
    pub async fn collect(mut self) -> Result<Bytes, BodyError> {
        let hint = self.inner.size_hint().exact().unwrap_or(0).min(self.limit);
        let mut buf = BytesMut::with_capacity(usize::try_from(hint).unwrap_or(0));
        while let Some(frame) = self.frame().await {
            if let Ok(data) = frame?.into_data() {
                buf.extend_from_slice(&data);
            }
        }
        Ok(buf.freeze())
    }

    fn fail(&self, error: BodyError) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let _first_wins = self.outcome.set(error.clone());
        Poll::Ready(Some(Err(error)))
    }
}

impl Body for ClientBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        if self.deadline.as_mut().poll(cx).is_ready() && !self.inner.is_end_stream() {
            return self.fail(BodyError::Timeout {
                ms: self.timeout_ms,
            });
        }
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                let len = frame.data_ref().map_or(0, |d| d.len() as u64);
                self.received = self.received.saturating_add(len);
                if self.received > self.limit {
                    return self.fail(BodyError::TooLarge { limit: self.limit });
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => self.fail(BodyError::Client(e.to_string())),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The request body sent to the endpoint.
pub enum ForwardBody {
    /// Streamed from the client as it arrives (paths the filter does not inspect).
    Streamed(ClientBody),
    /// Buffered and approved by the filter.
    Buffered(Full<Bytes>),
}

impl Body for ForwardBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        match self.get_mut() {
            ForwardBody::Streamed(b) => Pin::new(b).poll_frame(cx),
            ForwardBody::Buffered(b) => Pin::new(b).poll_frame(cx).map_err(|never| match never {}),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            ForwardBody::Streamed(b) => b.is_end_stream(),
            ForwardBody::Buffered(b) => b.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            ForwardBody::Streamed(b) => b.size_hint(),
            ForwardBody::Buffered(b) => b.size_hint(),
        }
    }
}

/// The response body returned to the client.
pub enum GatewayBody {
    /// The endpoint's response, streamed.
    Upstream(Incoming),
    /// An answer made by the gateway (a refusal or the filter's response).
    Local(Full<Bytes>),
}

impl Body for GatewayBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        match self.get_mut() {
            GatewayBody::Upstream(b) => Pin::new(b).poll_frame(cx),
            GatewayBody::Local(b) => Pin::new(b).poll_frame(cx).map_err(|never| match never {}),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            GatewayBody::Upstream(b) => b.is_end_stream(),
            GatewayBody::Local(b) => b.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            GatewayBody::Upstream(b) => b.size_hint(),
            GatewayBody::Local(b) => b.size_hint(),
        }
    }
}
