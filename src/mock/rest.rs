//! The Exchange Online admin API shape (protocol.md §6): `POST /adminapi/{ver}/{tenant}/InvokeCommand`
//! and `/$batch`. Each call "runs" one cmdlet, which means it is recorded and echoed back.

use super::echo::Caller;
use super::MockState;
use crate::invocation::{Command, Param};
use serde::Deserialize;
use serde_json::{json, Map, Value};

/// Most inner requests one `$batch` may carry. The module sends at most 10; more is refused
/// so that one body cannot make the mock do unbounded work.
pub const MAX_BATCH_REQUESTS: usize = 100;

/// Which admin API call a path names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route<'a> {
    InvokeCommand { version: &'a str, tenant: &'a str },
    Batch { version: &'a str, tenant: &'a str },
}

/// Parse `/adminapi/{ver}/{tenant}/InvokeCommand` or `/adminapi/{ver}/{tenant}/$batch`
/// (`%24batch` too); anything else is `None` (404).
pub fn route(path: &str) -> Option<Route<'_>> {
    let mut parts = path.strip_prefix("/adminapi/")?.split('/');
    let (version, tenant, action) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || version.is_empty() || tenant.is_empty() {
        return None;
    }
    if action.eq_ignore_ascii_case("InvokeCommand") {
        Some(Route::InvokeCommand { version, tenant })
    } else if action == "$batch" || action.eq_ignore_ascii_case("%24batch") {
        Some(Route::Batch { version, tenant })
    } else {
        None
    }
}

/// A REST answer: status and JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
}

#[derive(Deserialize)]
struct InvokeBody {
    #[serde(rename = "CmdletInput")]
    cmdlet_input: CmdletInput,
}

#[derive(Deserialize)]
struct CmdletInput {
    #[serde(rename = "CmdletName")]
    cmdlet_name: String,
    #[serde(rename = "Parameters", default)]
    parameters: Option<Map<String, Value>>,
}

#[derive(Deserialize)]
struct BatchBody {
    requests: Vec<BatchItem>,
}

#[derive(Deserialize)]
struct BatchItem {
    id: Value,
    #[serde(default)]
    url: String,
    #[serde(default)]
    body: Value,
}

/// Answer `InvokeCommand`: record the cmdlet and return it as the single result object.
pub fn invoke_command(
    state: &MockState,
    caller: &Caller<'_>,
    host: &str,
    version: &str,
    body: &[u8],
) -> Reply {
    let parsed: InvokeBody = match serde_json::from_slice(body) {
        Ok(b) => b,
        Err(e) => return error(400, "BadRequest", &format!("InvokeCommand body: {e}; expected {{\"CmdletInput\":{{\"CmdletName\":...,\"Parameters\":{{...}}}}}}")),
    };
    let command = to_command(parsed.cmdlet_input);
    match state.execute(caller, &command) {
        Ok(record) => Reply {
            status: 200,
            body: json!({
                "@odata.context": format!(
                    "https://{host}/adminapi/{version}/{}/$metadata#Collection(Exchange.GenericHashTable)",
                    caller.tenant.unwrap_or_default()
                ),
                "adminapi.warnings@odata.type": "#Collection(String)",
                "@adminapi.warnings": [],
                "value": [record],
            }),
        },
        Err(e) => error(
            500,
            "InternalServerError",
            &format!("mock could not write its command log: {e}"),
        ),
    }
}

/// Answer `$batch`: every inner InvokeCommand is run in order and answered in its own entry.
pub fn batch(
    state: &MockState,
    caller: &Caller<'_>,
    host: &str,
    version: &str,
    body: &[u8],
) -> Reply {
    let parsed: BatchBody = match serde_json::from_slice(body) {
        Ok(b) => b,
        Err(e) => return error(400, "BadRequest", &format!("$batch body: {e}; expected {{\"requests\":[{{\"id\",\"method\",\"url\",\"body\"}}]}}")),
    };
    if parsed.requests.len() > MAX_BATCH_REQUESTS {
        let msg = format!(
            "$batch has {} requests; at most {MAX_BATCH_REQUESTS} are accepted",
            parsed.requests.len()
        );
        return error(400, "BadRequest", &msg);
    }
    let mut responses = Vec::with_capacity(parsed.requests.len());
    for item in parsed.requests {
        let inner = inner_path(&item.url).and_then(route);
        let reply = match inner {
            Some(Route::InvokeCommand { tenant, .. }) => {
                let inner_caller = Caller {
                    tenant: Some(tenant),
                    ..caller.clone()
                };
                let body = serde_json::to_vec(&item.body).unwrap_or_default();
                invoke_command(state, &inner_caller, host, version, &body)
            }
            _ => error(
                404,
                "NotFound",
                &format!("$batch item url {:?} is not an InvokeCommand URL", item.url),
            ),
        };
        responses.push(json!({
            "id": item.id,
            "status": reply.status,
            "headers": {"Content-Type": "application/json;odata.metadata=minimal;charset=utf-8"},
            "body": reply.body,
        }));
    }
    Reply {
        status: 200,
        body: json!({ "responses": responses }),
    }
}

/// The path of an inner request URL, absolute (`https://host/adminapi/...`) or relative.
fn inner_path(url: &str) -> Option<&str> {
    let path = match url.split_once("://") {
        Some((_, rest)) => &rest[rest.find('/')?..],
        None => url,
    };
    Some(path.split('?').next().unwrap_or(path))
}

fn to_command(input: CmdletInput) -> Command {
    let (module, name) = match input.cmdlet_name.rsplit_once('\\') {
        Some((m, n)) => (Some(m.to_owned()), n.to_owned()),
        None => (None, input.cmdlet_name),
    };
    let params = input
        .parameters
        .unwrap_or_default()
        .into_iter()
        .map(|(name, value)| Param {
            name,
            value,
            bare: false,
        })
        .collect();
    Command {
        name,
        module,
        params,
        positional: Vec::new(),
        is_script: false,
        has_script_block: false,
    }
}

/// An OData error body, the shape the ExchangeOnlineManagement module parses.
pub fn error(status: u16, code: &str, message: &str) -> Reply {
    Reply {
        status,
        body: json!({"error": {"code": code, "message": message,
            "details": [{"code": "Client", "target": "", "message": format!("MOCK|{code}|{message}")}]}}),
    }
}

#[cfg(test)]
mod tests;
