//! The Exchange Online admin API (protocol.md §6): `InvokeCommand` and `$batch` bodies into one
//! [`Invocation`], one statement per cmdlet call.

use crate::config::InspectLimits;
use crate::inspect::error::{InspectError, Layer};
use crate::inspect::json::{self, is_annotation, Json};
use crate::inspect::redact::{is_secret_parameter, REDACTED};
use crate::invocation::{Command, Invocation, Param, Protocol};

const L: Layer = Layer::Rest;

/// What a REST path addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestPath {
    /// `/adminapi/{ver}/{tenant}/InvokeCommand`.
    InvokeCommand { tenant: String },
    /// `/adminapi/{ver}/{tenant}/$batch`.
    Batch { tenant: String },
}

/// Whether a request path is the admin API (`/adminapi/...`), to route it to [`inspect_rest`].
pub fn is_rest_path(path: &str) -> bool {
    path.get(..10)
        .is_some_and(|p| p.eq_ignore_ascii_case("/adminapi/"))
}

/// Classify a path (the query string is ignored; `%24batch` is `$batch`).
pub fn parse_path(path_and_query: &str) -> Result<RestPath, InspectError> {
    let path = path_and_query.split(['?', '#']).next().unwrap_or("");
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    match parts.as_slice() {
        [api, _ver, tenant, action]
            if api.eq_ignore_ascii_case("adminapi") && !tenant.is_empty() =>
        {
            let tenant = (*tenant).to_owned();
            if action.eq_ignore_ascii_case("InvokeCommand") {
                Ok(RestPath::InvokeCommand { tenant })
            } else if action.eq_ignore_ascii_case("$batch")
                || action.eq_ignore_ascii_case("%24batch")
            {
                Ok(RestPath::Batch { tenant })
            } else {
                Err(InspectError::unsupported(
                    L,
                    "path",
                    format!("{action:?} is not InvokeCommand or $batch"),
                ))
            }
        }
        _ => Err(InspectError::unsupported(
            L,
            "path",
            format!("{path:?} is not /adminapi/{{version}}/{{tenant}}/InvokeCommand or $batch"),
        )),
    }
}

/// Inspect a REST request: `x_cmdlet_name` is the `X-CmdletName` header, if sent.
pub fn inspect_rest(
    path_and_query: &str,
    x_cmdlet_name: Option<&str>,
    body: &[u8],
    principal: &str,
    limits: &InspectLimits,
) -> Result<Invocation, InspectError> {
    let json = json::parse(body, L)?;
    let (tenant, statements) = match parse_path(path_and_query)? {
        RestPath::InvokeCommand { tenant } => {
            (tenant, vec![vec![invoke_command(json, x_cmdlet_name)?]])
        }
        RestPath::Batch { tenant } => {
            let statements = batch(json, &tenant, limits)?;
            (tenant, statements)
        }
    };
    Ok(Invocation {
        principal: principal.to_lowercase(),
        protocol: Protocol::Rest,
        tenant: Some(tenant),
        shell_id: None,
        command_id: None,
        statements,
    })
}

/// `{"CmdletInput":{"CmdletName":..., "Parameters":{...}}}`.
fn invoke_command(body: Json, x_cmdlet_name: Option<&str>) -> Result<Command, InspectError> {
    let Json::Object(top) = body else {
        return Err(InspectError::malformed(L, "body", "not a JSON object"));
    };
    let input = take(top, "CmdletInput")?
        .ok_or_else(|| InspectError::malformed(L, "CmdletInput", "missing"))?;
    let Json::Object(input) = input else {
        return Err(InspectError::malformed(L, "CmdletInput", "not an object"));
    };
    let mut name = None;
    let mut params = None;
    for (k, v) in input {
        if k.eq_ignore_ascii_case("CmdletName") {
            name = Some(v);
        } else if k.eq_ignore_ascii_case("Parameters") {
            params = Some(v);
        }
    }
    let Some(Json::String(name)) = name else {
        return Err(InspectError::malformed(
            L,
            "CmdletInput.CmdletName",
            "missing or not a string",
        ));
    };
    let name = name.trim().to_owned();
    if name.is_empty() {
        return Err(InspectError::malformed(
            L,
            "CmdletInput.CmdletName",
            "empty",
        ));
    }
    if let Some(header) = x_cmdlet_name.map(str::trim) {
        if !header.eq_ignore_ascii_case(&name) {
            return Err(InspectError::malformed(
                L,
                "X-CmdletName",
                format!("header says {header:?}, body says {name:?}"),
            ));
        }
    }
    let (module, name) = match name.rsplit_once('\\') {
        Some((m, n)) if !m.is_empty() => (Some(m.to_owned()), n.to_owned()),
        _ => (None, name),
    };
    let mut command = Command {
        name,
        module,
        params: Vec::new(),
        positional: Vec::new(),
        is_script: false,
        has_script_block: false,
    };
    match params {
        None | Some(Json::Null) => {}
        Some(Json::Object(entries)) => {
            for (k, v) in entries.into_iter().filter(|(k, _)| !is_annotation(k)) {
                let value = if is_secret_parameter(&k) && v != Json::Null {
                    serde_json::Value::String(REDACTED.to_owned())
                } else {
                    v.into_value()
                };
                command.params.push(Param {
                    name: k,
                    value,
                    bare: false,
                });
            }
        }
        Some(_) => {
            return Err(InspectError::malformed(
                L,
                "CmdletInput.Parameters",
                "not an object",
            ))
        }
    }
    Ok(command)
}

/// `{"requests":[{"id","method","url","body","headers"}]}`: every inner request must be a POST
/// to InvokeCommand for the same tenant.
fn batch(
    body: Json,
    tenant: &str,
    limits: &InspectLimits,
) -> Result<Vec<Vec<Command>>, InspectError> {
    let Json::Object(top) = body else {
        return Err(InspectError::malformed(L, "body", "not a JSON object"));
    };
    let Some(Json::Array(requests)) = take(top, "requests")? else {
        return Err(InspectError::malformed(
            L,
            "requests",
            "missing or not an array",
        ));
    };
    if requests.len() > limits.max_commands {
        return Err(InspectError::limit(
            L,
            "max_commands",
            limits.max_commands,
            format!("{} requests in one batch", requests.len()),
        ));
    }
    let mut statements = Vec::with_capacity(requests.len());
    for (i, req) in requests.into_iter().enumerate() {
        statements.push(vec![batch_item(req, tenant).map_err(|e| prefix(e, i))?]);
    }
    Ok(statements)
}

fn batch_item(req: Json, tenant: &str) -> Result<Command, InspectError> {
    let method = req.get("method").and_then(Json::as_str).unwrap_or("");
    if !method.eq_ignore_ascii_case("POST") {
        return Err(InspectError::unsupported(
            L,
            "method",
            format!("{method:?}; only POST InvokeCommand is allowed in a batch"),
        ));
    }
    let url = req
        .get("url")
        .and_then(Json::as_str)
        .ok_or_else(|| InspectError::malformed(L, "url", "missing"))?;
    let path = url_path(url);
    match parse_path(path)? {
        RestPath::InvokeCommand { tenant: inner } if inner.eq_ignore_ascii_case(tenant) => {}
        RestPath::InvokeCommand { tenant: inner } => {
            return Err(InspectError::malformed(
                L,
                "url",
                format!("tenant {inner:?} differs from the batch's {tenant:?}"),
            ))
        }
        RestPath::Batch { .. } => {
            return Err(InspectError::unsupported(
                L,
                "url",
                "a batch inside a batch",
            ))
        }
    }
    let header = req
        .get("headers")
        .and_then(|h| h.get("X-CmdletName"))
        .and_then(Json::as_str)
        .map(str::to_owned);
    let Json::Object(entries) = req else {
        return Err(InspectError::malformed(L, "request", "not an object"));
    };
    let body = entries
        .into_iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("body"))
        .map(|(_, v)| v)
        .ok_or_else(|| InspectError::malformed(L, "body", "missing"))?;
    invoke_command(body, header.as_deref())
}

/// The path of an absolute or relative URL.
fn url_path(url: &str) -> &str {
    match url.split_once("://") {
        Some((_, rest)) => rest.find('/').and_then(|i| rest.get(i..)).unwrap_or("/"),
        None => url,
    }
}

fn take(entries: Vec<(String, Json)>, key: &str) -> Result<Option<Json>, InspectError> {
    Ok(entries
        .into_iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v))
}

fn prefix(e: InspectError, i: usize) -> InspectError {
    match e {
        InspectError::Malformed {
            layer,
            field,
            problem,
        } => InspectError::Malformed {
            layer,
            field: format!("requests[{i}].{field}"),
            problem,
        },
        InspectError::Unsupported {
            layer,
            field,
            problem,
        } => InspectError::Unsupported {
            layer,
            field: format!("requests[{i}].{field}"),
            problem,
        },
        other => other,
    }
}

#[cfg(test)]
#[path = "rest_tests.rs"]
mod tests;
