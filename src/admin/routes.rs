//! The admin API's routes: one match arm per endpoint, then the extra routes other parts of the
//! gateway register (`/metrics`, `/v1/ratelimit`, `/v1/reload`).

use super::body::Fields;
use super::reply::{json, ok, ApiError, ApiResult};
use super::{AdminApi, Call};
use crate::config::ApprovalKind;
use crate::store::RequestState;
use crate::workflow::{PolicyInput, RequestInput};
use http::{Method, StatusCode};
use serde_json::json;

/// The OpenAPI document served at `GET /v1/openapi.json`.
pub const OPENAPI: &str = include_str!("../../docs/openapi.json");

impl AdminApi {
    /// Endpoints that answer without authentication.
    pub(super) fn is_public(&self, method: &Method, path: &str) -> bool {
        let builtin =
            method == Method::GET && matches!(path, "/healthz" | "/readyz" | "/v1/openapi.json");
        builtin
            || self
                .extra
                .iter()
                .any(|r| r.public && r.method == method && r.path == path)
    }

    pub(super) async fn route(&self, call: Call) -> ApiResult {
        let path = call.head.uri.path().to_string();
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let wf = &self.workflow;
        let who = call.principal.as_deref().unwrap_or_default();
        match (call.head.method.clone(), segments.as_slice()) {
            (Method::GET, ["healthz"]) => ok(&json!({"status": "ok"})),
            (Method::GET, ["readyz"]) => match wf.ready().await {
                Ok(()) => ok(&json!({"status": "ready"})),
                Err(e) => Err(ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "not_ready",
                    e.message,
                )),
            },
            (Method::GET, ["v1", "openapi.json"]) => Ok(openapi()),
            (Method::GET, ["v1", "policies"]) => {
                ok(&json!({"policies": wf.list_policies().await?}))
            }
            (Method::POST, ["v1", "policies"]) => {
                let created = wf.create_policy(who, policy_input(call.fields()?)?).await?;
                Ok(json(StatusCode::CREATED, &created))
            }
            (Method::DELETE, ["v1", "policies", id]) => ok(&wf.remove_policy(who, id).await?),
            (Method::GET, ["v1", "requests"]) => {
                let state = state_filter(call.head.uri.query())?;
                ok(&json!({"requests": wf.list_requests(state).await?}))
            }
            (Method::POST, ["v1", "requests"]) => {
                let decision = wf
                    .create_request(who, request_input(call.fields()?)?)
                    .await?;
                Ok(json(StatusCode::CREATED, &decision))
            }
            (Method::GET, ["v1", "requests", id]) => ok(&wf.get_request(id).await?),
            (Method::POST, ["v1", "requests", id, "approve"]) => {
                ok(&wf.approve(who, id, comment(call.fields()?)?).await?)
            }
            (Method::POST, ["v1", "requests", id, "deny"]) => {
                ok(&wf.deny(who, id, comment(call.fields()?)?).await?)
            }
            (Method::POST, ["v1", "requests", id, "revoke"]) => {
                call.fields()?.finish("(none)")?;
                ok(&wf.revoke(who, id).await?)
            }
            (Method::GET, ["v1", "grants"]) => ok(&json!({"grants": wf.list_grants().await?})),
            _ => self.route_extra(call, &path).await,
        }
    }

    async fn route_extra(&self, call: Call, path: &str) -> ApiResult {
        let method = call.head.method.clone();
        if let Some(r) = self
            .extra
            .iter()
            .find(|r| r.method == method && r.path == path)
        {
            return Ok((r.handler)(call).await);
        }
        let known_path = KNOWN.iter().any(|k| matches_template(k, path))
            || self.extra.iter().any(|r| r.path == path);
        if known_path {
            return Err(ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!("{method} is not allowed on {path}; see GET /v1/openapi.json"),
            ));
        }
        Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no_such_endpoint",
            format!("no endpoint {path}; see GET /v1/openapi.json"),
        ))
    }
}

/// The built-in path templates, for telling 405 from 404.
const KNOWN: &[&str] = &[
    "/healthz",
    "/readyz",
    "/v1/openapi.json",
    "/v1/policies",
    "/v1/policies/*",
    "/v1/requests",
    "/v1/requests/*",
    "/v1/requests/*/approve",
    "/v1/requests/*/deny",
    "/v1/requests/*/revoke",
    "/v1/grants",
];

fn matches_template(template: &str, path: &str) -> bool {
    let t: Vec<&str> = template.split('/').collect();
    let p: Vec<&str> = path.split('/').collect();
    t.len() == p.len() && t.iter().zip(&p).all(|(t, p)| *t == "*" || t == p)
}

fn openapi() -> super::reply::Reply {
    let mut reply = http::Response::new(http_body_util::Full::new(bytes::Bytes::from_static(
        OPENAPI.as_bytes(),
    )));
    reply.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    reply
}

fn state_filter(query: Option<&str>) -> Result<Option<RequestState>, ApiError> {
    let mut state = None;
    for pair in query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if key != "state" {
            let key: String = key.chars().take(64).collect();
            return Err(ApiError::field(
                key.clone(),
                "unknown_parameter",
                format!("unknown query parameter {key:?}; only state is accepted"),
            ));
        }
        let parsed = RequestState::parse(value).ok_or_else(|| {
            ApiError::field(
                "state",
                "invalid_state",
                format!(
                    "state {:?} is not one of pending, approved, denied, expired, revoked",
                    value.chars().take(64).collect::<String>()
                ),
            )
        })?;
        state = Some(parsed);
    }
    Ok(state)
}

fn request_input(mut f: Fields) -> Result<RequestInput, ApiError> {
    let input = RequestInput {
        task: f.string("task")?,
        reason: f.string("reason")?,
        hours: f.integer("hours")?,
    };
    f.finish("task, reason, hours")?;
    if input.task.is_none() {
        return Err(ApiError::field(
            "task",
            "missing",
            "task is required: the cmdlet to run, e.g. \"New-JournalRule\"",
        ));
    }
    Ok(input)
}

fn policy_input(mut f: Fields) -> Result<PolicyInput, ApiError> {
    let approval = match f.string("approval")?.as_deref() {
        None => None,
        Some(a) if a.eq_ignore_ascii_case("manual") => Some(ApprovalKind::Manual),
        Some(a) if a.eq_ignore_ascii_case("auto") => Some(ApprovalKind::Auto),
        Some(a) => {
            let a: String = a.chars().take(64).collect();
            return Err(ApiError::field(
                "approval",
                "invalid_approval",
                format!("approval {a:?} is not \"manual\" or \"auto\""),
            ));
        }
    };
    let input = PolicyInput {
        task: f.string("task")?,
        role: f.string("role")?,
        role_group: f.strings("role_group")?,
        approval,
        approvers: f.string("approvers")?,
        max_hours: f.integer("max_hours")?,
    };
    f.finish("task, role, role_group, approval, approvers, max_hours")?;
    Ok(input)
}

fn comment(mut f: Fields) -> Result<Option<String>, ApiError> {
    let c = f.string("comment")?;
    f.finish("comment")?;
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_filter_accepts_only_known_states() {
        assert_eq!(
            state_filter(Some("state=pending")).unwrap(),
            Some(RequestState::Pending)
        );
        assert_eq!(state_filter(None).unwrap(), None);
        assert_eq!(
            state_filter(Some("state=granted"))
                .unwrap_err()
                .field
                .as_deref(),
            Some("state")
        );
        assert_eq!(
            state_filter(Some("limit=3")).unwrap_err().field.as_deref(),
            Some("limit")
        );
    }

    #[test]
    fn the_openapi_document_is_json_and_lists_every_endpoint() {
        let doc: serde_json::Value = serde_json::from_str(OPENAPI).unwrap();
        assert_eq!(doc["openapi"].as_str().map(|v| &v[..2]), Some("3."));
        for path in [
            "/healthz",
            "/readyz",
            "/v1/policies",
            "/v1/policies/{id}",
            "/v1/requests",
            "/v1/requests/{id}",
            "/v1/requests/{id}/approve",
            "/v1/requests/{id}/deny",
            "/v1/requests/{id}/revoke",
            "/v1/grants",
            "/v1/openapi.json",
        ] {
            assert!(doc["paths"].get(path).is_some(), "{path} is documented");
        }
    }
}
