//! OData errors for the REST admin API (protocol.md §6.6).
//!
//! The Exchange module shows `error.details[0].message`, kept in the `<id>|<type>|<text>` form
//! third-party parsers split on. Status 403 and 400 are not retried by the module; 429 is,
//! honouring `Retry-After`, which is what a rate limit wants.

use super::{clean_text, response, retry_after_secs, set_header, throttle_text, RefusalResponse};
use crate::policy::Throttle;
use http::StatusCode;
use serde_json::json;

const ODATA_JSON: &str = "application/json;odata.metadata=minimal;charset=utf-8";

/// PowerShell `ErrorCategory` numbers carried in `details[0].code`.
const CATEGORY_INVALID_DATA: &str = "6";
const CATEGORY_PERMISSION_DENIED: &str = "18";
const CATEGORY_LIMITS_EXCEEDED: &str = "29";

/// A policy refusal: 403, `GW0001|GatewayPolicyBlocked|<text>`.
pub fn rest_forbidden(cmdlet: &str, text: &str) -> RefusalResponse {
    let detail = Detail {
        id: "GW0001",
        kind: "GatewayPolicyBlocked",
        category: CATEGORY_PERMISSION_DENIED,
    };
    odata(
        StatusCode::FORBIDDEN,
        "Forbidden",
        "Blocked by gateway policy",
        cmdlet,
        text,
        detail,
    )
}

/// A rate-limit refusal: 429 with `Retry-After`, `GW0002|GatewayRateLimited|<text>`.
pub fn rest_throttled(throttle: &Throttle) -> RefusalResponse {
    let detail = Detail {
        id: "GW0002",
        kind: "GatewayRateLimited",
        category: CATEGORY_LIMITS_EXCEEDED,
    };
    let text = throttle_text(throttle);
    let msg = "Rate limited by the gateway";
    let mut resp = odata(
        StatusCode::TOO_MANY_REQUESTS,
        "TooManyRequests",
        msg,
        "",
        &text,
        detail,
    );
    let secs = retry_after_secs(throttle.retry_after_ms).to_string();
    set_header(&mut resp, "retry-after", &secs);
    resp
}

/// A request the gateway cannot read: 400, `GW0003|GatewayInspectionFailed|<text>`.
pub fn rest_bad_request(text: &str) -> RefusalResponse {
    let detail = Detail {
        id: "GW0003",
        kind: "GatewayInspectionFailed",
        category: CATEGORY_INVALID_DATA,
    };
    let msg = "The gateway could not read the request";
    odata(StatusCode::BAD_REQUEST, "BadRequest", msg, "", text, detail)
}

struct Detail {
    id: &'static str,
    kind: &'static str,
    category: &'static str,
}

fn odata(
    status: StatusCode,
    code: &str,
    message: &str,
    target: &str,
    text: &str,
    detail: Detail,
) -> RefusalResponse {
    // `|` separates the id, type and text; keep it out of the text so parsers split cleanly.
    let text = clean_text(text).replace('|', "/");
    let body = json!({"error": {
        "code": code,
        "message": message,
        "details": [{
            "code": detail.category,
            "target": clean_text(target),
            "message": format!("{}|{}|{}", detail.id, detail.kind, text),
        }],
    }});
    let mut resp = response(status, ODATA_JSON, body.to_string());
    set_header(&mut resp, "x-exceptiontype", detail.kind);
    set_header(&mut resp, "request-id", &uuid::Uuid::new_v4().to_string());
    resp
}
