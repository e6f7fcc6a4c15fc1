//! Answers the proxy gives itself instead of the endpoint's: each says what happened, which
//! side caused it, and what to check. Plain text, so every client and every log shows it as is.

use super::body::{BodyError, GatewayBody};
use super::framing::FramingViolation;
use super::upstream::ForwardError;
use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};
use http_body_util::Full;

/// Which side a refusal is blamed on (logged with the request).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The client sent something the gateway will not pass on.
    Client,
    /// The endpoint is down, slow or broke the exchange.
    Upstream,
}

/// Why the proxy answered a request itself.
#[derive(Debug)]
#[non_exhaustive]
pub enum Refusal {
    /// Ambiguous or malformed framing (request smuggling shapes).
    Framing(FramingViolation),
    /// `Upgrade` or `CONNECT`: the gateway only relays plain HTTP/1.1 exchanges it can inspect.
    Upgrade,
    /// A request target that is not a path (`*` or authority-form).
    Target,
    /// The body was too large, too slow or broken off.
    Body(BodyError),
    /// Forwarding failed.
    Forward(ForwardError),
}

impl Refusal {
    pub fn status(&self) -> StatusCode {
        match self {
            Refusal::Framing(_) | Refusal::Upgrade | Refusal::Target => StatusCode::BAD_REQUEST,
            Refusal::Body(BodyError::TooLarge { .. }) => StatusCode::PAYLOAD_TOO_LARGE,
            Refusal::Body(BodyError::Timeout { .. }) => StatusCode::REQUEST_TIMEOUT,
            Refusal::Body(_) => StatusCode::BAD_REQUEST,
            Refusal::Forward(
                ForwardError::ConnectTimeout { .. } | ForwardError::ResponseTimeout { .. },
            ) => StatusCode::GATEWAY_TIMEOUT,
            Refusal::Forward(_) => StatusCode::BAD_GATEWAY,
        }
    }

    pub fn fault(&self) -> Fault {
        match self {
            Refusal::Forward(_) => Fault::Upstream,
            _ => Fault::Client,
        }
    }

    /// Client faults close the connection: the rest of what it sent cannot be trusted or is
    /// unread. An endpoint failure leaves the client connection usable.
    pub fn closes_connection(&self) -> bool {
        self.fault() == Fault::Client
    }

    /// The text for the client: what happened and what to do.
    pub fn message(&self) -> String {
        match self {
            Refusal::Framing(v) => format!(
                "{}. The gateway refuses ambiguous request framing (request smuggling); \
                 send one Content-Length or Transfer-Encoding: chunked, not both.",
                v.describe()
            ),
            Refusal::Upgrade => "protocol upgrades (Upgrade, CONNECT) are not supported; \
                                 PowerShell remoting and the REST API use plain HTTP/1.1."
                .to_string(),
            Refusal::Target => "the request target must be a path such as /wsman.".to_string(),
            Refusal::Body(BodyError::TooLarge { limit }) => format!(
                "the request body is larger than the gateway accepts ({limit} bytes, \
                 [limits] max_body_bytes); send less per request or ask the operator to raise it."
            ),
            Refusal::Body(e @ BodyError::Timeout { .. }) => {
                format!("{e}; check the client's network path or ask the operator to raise it.")
            }
            Refusal::Body(e) => format!("{e}."),
            Refusal::Forward(e @ ForwardError::Connect { .. }) => {
                format!("{e}. Check that the endpoint is running and that [upstream] url is right.")
            }
            Refusal::Forward(e @ ForwardError::Tls { .. }) => {
                format!("{e}. Check [upstream] ca and the endpoint's certificate and host name.")
            }
            Refusal::Forward(e @ ForwardError::ConnectTimeout { .. }) => format!(
                "{e} ([upstream] connect_timeout_ms). Check the network path to the endpoint."
            ),
            Refusal::Forward(e @ ForwardError::ResponseTimeout { .. }) => format!(
                "{e} ([upstream] response_timeout_ms). Check the endpoint's health; retry later."
            ),
            Refusal::Forward(e) => format!("{e}. Check the endpoint's logs; retry the request."),
        }
    }

    /// The response sent to the client.
    pub fn into_response(self) -> Response<GatewayBody> {
        let text = format!("runspace-gateway: {}\n", self.message());
        let mut response = Response::new(GatewayBody::Local(Full::new(Bytes::from(text))));
        *response.status_mut() = self.status();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        if self.closes_connection() {
            headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_the_cause() {
        let too_large = Refusal::Body(BodyError::TooLarge { limit: 10 });
        assert_eq!(too_large.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert!(too_large.message().contains("max_body_bytes"));
        let slow = Refusal::Forward(ForwardError::ResponseTimeout {
            url: "http://e".into(),
            ms: 5,
        });
        assert_eq!(slow.status(), StatusCode::GATEWAY_TIMEOUT);
        assert!(!slow.closes_connection());
        let down = Refusal::Forward(ForwardError::Connect {
            url: "http://e".into(),
            source: std::io::ErrorKind::ConnectionRefused.into(),
        });
        assert_eq!(down.status(), StatusCode::BAD_GATEWAY);
        assert!(down.message().contains("[upstream] url"));
        let framing = Refusal::Framing(FramingViolation::DuplicateContentLength);
        let response = framing.into_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(response.headers()[header::CONNECTION], "close");
    }
}
