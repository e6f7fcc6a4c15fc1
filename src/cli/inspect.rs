//! `runspace-gateway inspect FILE...`: captured request bodies in, one JSON line per complete
//! invocation out. The files are one session, read in order, so fragments carry over between
//! them. The security engineers' tool for checking captures.

use crate::config::InspectLimits;
use crate::inspect::{Inspection, Inspector};
use crate::invocation::{Command, Invocation};
use serde_json::{json, Map, Value};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Raw request bodies (SOAP envelopes or REST JSON), in order; `-` reads stdin.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// The `Authorization` header value the requests carried (gives the principal; without
    /// it the principal is `unknown`).
    #[arg(long)]
    pub authorization: Option<String>,
    /// The request path for REST bodies (default: InvokeCommand, or $batch when the body has
    /// `requests`).
    #[arg(long)]
    pub path: Option<String>,
}

pub fn run(args: Args) -> ExitCode {
    let inspector = Inspector::new(InspectLimits::default());
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for file in &args.files {
        let name = file.display().to_string();
        let body = match read(file) {
            Ok(b) => b,
            Err(e) => return fail(&name, &format!("cannot read: {e}")),
        };
        match inspect_one(&inspector, &args, &body) {
            Ok(Some(inv)) => {
                if writeln!(out, "{}", invocation_line(&inv)).is_err() {
                    return ExitCode::from(1);
                }
            }
            Ok(None) => {}
            Err(e) => return fail(&name, &e),
        }
    }
    ExitCode::SUCCESS
}

fn read(file: &PathBuf) -> std::io::Result<Vec<u8>> {
    if file.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::stdin().read_to_end(&mut buf)?;
        Ok(buf)
    } else {
        std::fs::read(file)
    }
}

/// Inspect one body as a POST with the given Authorization; all files share `inspector`.
pub fn inspect_one(
    inspector: &Inspector,
    args: &Args,
    body: &[u8],
) -> Result<Option<Invocation>, String> {
    let is_json = body
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{');
    let (path, content_type) = if is_json {
        let default = if contains_requests_key(body) {
            "/adminapi/beta/tenant/$batch"
        } else {
            "/adminapi/beta/tenant/InvokeCommand"
        };
        (
            args.path.clone().unwrap_or_else(|| default.to_owned()),
            "application/json",
        )
    } else {
        ("/wsman".to_owned(), "application/soap+xml;charset=UTF-8")
    };
    let mut req = http::Request::builder()
        .method("POST")
        .uri(path)
        .header("content-type", content_type);
    if let Some(a) = &args.authorization {
        req = req.header("authorization", a);
    }
    let (head, ()) = req.body(()).map_err(|e| e.to_string())?.into_parts();
    let cert = args.authorization.is_none().then_some("unknown");
    match inspector.inspect(&head, body, cert, 0) {
        Ok(Inspection::Rest(inv)) => Ok(Some(inv)),
        Ok(Inspection::Winrm(w)) => Ok(w.invocation().cloned()),
        Err(e) => Err(e.to_string()),
    }
}

fn contains_requests_key(body: &[u8]) -> bool {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| {
            v.as_object()
                .map(|o| o.keys().any(|k| k.eq_ignore_ascii_case("requests")))
        })
        .unwrap_or(false)
}

/// The documented output line.
pub fn invocation_line(inv: &Invocation) -> Value {
    let statements: Vec<Value> = inv
        .statements
        .iter()
        .map(|st| Value::Array(st.iter().map(command_json).collect()))
        .collect();
    json!({
        "protocol": inv.protocol.as_str(),
        "principal": inv.principal,
        "shell_id": inv.shell_id,
        "command_id": inv.command_id,
        "statements": statements,
    })
}

fn command_json(c: &Command) -> Value {
    let params: Map<String, Value> = c
        .params
        .iter()
        .map(|p| (p.name.clone(), p.value.clone()))
        .collect();
    json!({
        "name": c.name,
        "module": c.module,
        "params": params,
        "positional": c.positional,
        "is_script": c.is_script,
    })
}

fn fail(file: &str, message: &str) -> ExitCode {
    eprintln!("runspace-gateway inspect: {file}: {message}");
    ExitCode::from(2)
}
