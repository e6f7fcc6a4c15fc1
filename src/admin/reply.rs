//! JSON answers and errors: `{"error":{"code","message","field"?}}` with the right status.

use crate::workflow::{ErrorKind, WorkflowError};
use bytes::Bytes;
use http::{header, Response, StatusCode};
use http_body_util::Full;

pub type Reply = Response<Full<Bytes>>;

/// An API error before it becomes a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
        }
    }
    pub fn field(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            field: Some(field.into()),
            ..ApiError::new(StatusCode::BAD_REQUEST, code, message)
        }
    }
    pub fn into_reply(self) -> Reply {
        let mut error = serde_json::json!({"code": self.code, "message": self.message});
        if let (Some(f), Some(obj)) = (self.field, error.as_object_mut()) {
            obj.insert("field".into(), f.into());
        }
        let mut reply = json(self.status, &serde_json::json!({ "error": error }));
        if self.status == StatusCode::UNAUTHORIZED {
            reply.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        reply
    }
}

impl From<WorkflowError> for ApiError {
    fn from(e: WorkflowError) -> Self {
        let status = match e.kind {
            ErrorKind::BadInput => StatusCode::BAD_REQUEST,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Forbidden => StatusCode::FORBIDDEN,
            ErrorKind::Conflict => StatusCode::CONFLICT,
            ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        };
        ApiError {
            status,
            code: e.code,
            message: e.message,
            field: e.field.map(str::to_string),
        }
    }
}

/// A JSON response.
pub fn json<T: serde::Serialize>(status: StatusCode, value: &T) -> Reply {
    let body = serde_json::to_vec_pretty(value).unwrap_or_else(|_| b"{}".to_vec());
    let mut reply = Response::new(Full::new(Bytes::from(body)));
    *reply.status_mut() = status;
    reply.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    reply
}

pub type ApiResult = Result<Reply, ApiError>;

pub fn ok<T: serde::Serialize>(value: &T) -> ApiResult {
    Ok(json(StatusCode::OK, value))
}
