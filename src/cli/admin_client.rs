//! `runspace-gateway policy|request|grant ...`: a client of the admin API that mirrors the
//! Exchange cmdlets (`New-ElevatedAccessApprovalPolicy`, `New-ElevatedAccessRequest`,
//! `Approve-`/`Deny-ElevatedAccessRequest`, ...). Human tables by default, `--json` for scripts.

use crate::admin::client::{AdminClient, Answer};
use crate::admin::tables as output;
use http::Method;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::ExitCode;

/// Where the CA of a `runspace-gateway dev` setup is, tried when `--ca` is not given.
const DEV_CA: &str = "data/certs/ca.pem";

/// How to reach the admin API.
#[derive(Debug, Clone, clap::Args)]
pub struct Conn {
    /// Admin API URL (`[admin] addr`).
    #[arg(
        long = "admin",
        env = "RUNSPACE_GATEWAY_ADMIN",
        default_value = "https://127.0.0.1:9443"
    )]
    pub admin: String,
    /// Bearer token of the caller (its SHA-256 is in `[[admin.token]]`).
    #[arg(long, env = "RUNSPACE_GATEWAY_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// PEM CA that signed the admin certificate (default: data/certs/ca.pem when present).
    #[arg(long, env = "RUNSPACE_GATEWAY_CA")]
    pub ca: Option<PathBuf>,
    /// Print the API's JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Subcommand)]
pub enum PolicyCommand {
    /// Create a policy (New-ElevatedAccessApprovalPolicy).
    New {
        /// One cmdlet, optionally module-qualified (`Exchange\New-JournalRule`).
        #[arg(long, conflicts_with_all = ["role", "role_group"])]
        task: Option<String>,
        /// A role from [roles].
        #[arg(long, conflicts_with = "role_group")]
        role: Option<String>,
        /// Several roles from [roles], comma-separated.
        #[arg(long, value_delimiter = ',')]
        role_group: Option<Vec<String>>,
        /// `manual` (an approver decides) or `auto` (granted at once).
        #[arg(long)]
        approval: String,
        /// The approver group, from [groups].
        #[arg(long)]
        approvers: String,
        /// The longest grant an approval may give (default 8).
        #[arg(long, allow_negative_numbers = true)]
        max_hours: Option<i64>,
        #[command(flatten)]
        conn: Conn,
    },
    /// List policies (Get-ElevatedAccessApprovalPolicy).
    List {
        #[command(flatten)]
        conn: Conn,
    },
    /// Remove a policy (Remove-ElevatedAccessApprovalPolicy).
    Remove {
        /// Policy id, e.g. P-1.
        id: String,
        #[command(flatten)]
        conn: Conn,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum RequestCommand {
    /// Ask for a task (New-ElevatedAccessRequest).
    New {
        /// The cmdlet, e.g. New-JournalRule.
        #[arg(long)]
        task: String,
        /// Why you need it (shown to the approvers).
        #[arg(long)]
        reason: Option<String>,
        /// How long the grant lasts (default 4, at most the policy's maximum).
        #[arg(long, allow_negative_numbers = true)]
        hours: Option<i64>,
        #[command(flatten)]
        conn: Conn,
    },
    /// List requests, newest first (Get-ElevatedAccessRequest).
    List {
        /// Only pending requests.
        #[arg(long)]
        pending: bool,
        #[command(flatten)]
        conn: Conn,
    },
    /// Show one request (Get-ElevatedAccessRequest -Identity).
    Show {
        id: String,
        #[command(flatten)]
        conn: Conn,
    },
    /// Approve a request (Approve-ElevatedAccessRequest).
    Approve {
        id: String,
        #[arg(long)]
        comment: Option<String>,
        #[command(flatten)]
        conn: Conn,
    },
    /// Deny a request (Deny-ElevatedAccessRequest).
    Deny {
        id: String,
        #[arg(long)]
        comment: Option<String>,
        #[command(flatten)]
        conn: Conn,
    },
    /// End an approved request's grant now.
    Revoke {
        id: String,
        #[command(flatten)]
        conn: Conn,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum GrantCommand {
    /// List the grants in force now.
    List {
        #[command(flatten)]
        conn: Conn,
    },
}

/// One API call and how to show its answer.
struct Job {
    conn: Conn,
    method: Method,
    path: String,
    body: Option<Value>,
    show: fn(&Value) -> String,
}

pub fn run_policy(c: PolicyCommand) -> ExitCode {
    let job = match c {
        PolicyCommand::New {
            task,
            role,
            role_group,
            approval,
            approvers,
            max_hours,
            conn,
        } => {
            let mut body =
                json!({"approval": approval, "approvers": approvers, "max_hours": max_hours});
            let scope = [
                ("task", task.map(Value::from)),
                ("role", role.map(Value::from)),
                ("role_group", role_group.map(Value::from)),
            ];
            for (key, value) in scope {
                if let (Some(v), Some(obj)) = (value, body.as_object_mut()) {
                    obj.insert(key.into(), v);
                }
            }
            Job {
                conn,
                method: Method::POST,
                path: "/v1/policies".into(),
                body: Some(body),
                show: output::policy,
            }
        }
        PolicyCommand::List { conn } => Job {
            conn,
            method: Method::GET,
            path: "/v1/policies".into(),
            body: None,
            show: output::policies,
        },
        PolicyCommand::Remove { id, conn } => Job {
            conn,
            method: Method::DELETE,
            path: format!("/v1/policies/{}", segment(&id)),
            body: None,
            show: output::removed,
        },
    };
    run(job)
}

pub fn run_request(c: RequestCommand) -> ExitCode {
    let job = match c {
        RequestCommand::New {
            task,
            reason,
            hours,
            conn,
        } => Job {
            conn,
            method: Method::POST,
            path: "/v1/requests".into(),
            body: Some(json!({"task": task, "reason": reason, "hours": hours})),
            show: output::decision,
        },
        RequestCommand::List { pending, conn } => {
            let path = if pending {
                "/v1/requests?state=pending"
            } else {
                "/v1/requests"
            };
            Job {
                conn,
                method: Method::GET,
                path: path.into(),
                body: None,
                show: output::requests,
            }
        }
        RequestCommand::Show { id, conn } => Job {
            conn,
            method: Method::GET,
            path: format!("/v1/requests/{}", segment(&id)),
            body: None,
            show: output::decision,
        },
        RequestCommand::Approve { id, comment, conn } => {
            decide(conn, &id, "approve", Some(json!({"comment": comment})))
        }
        RequestCommand::Deny { id, comment, conn } => {
            decide(conn, &id, "deny", Some(json!({"comment": comment})))
        }
        RequestCommand::Revoke { id, conn } => decide(conn, &id, "revoke", None),
    };
    run(job)
}

pub fn run_grant(c: GrantCommand) -> ExitCode {
    let GrantCommand::List { conn } = c;
    run(Job {
        conn,
        method: Method::GET,
        path: "/v1/grants".into(),
        body: None,
        show: output::grants,
    })
}

fn decide(conn: Conn, id: &str, verb: &str, body: Option<Value>) -> Job {
    let path = format!("/v1/requests/{}/{verb}", segment(id));
    Job {
        conn,
        method: Method::POST,
        path,
        body,
        show: output::decision,
    }
}

/// An id as one path segment: anything but an id's characters is sent percent-encoded, so
/// the server sees (and refuses precisely) exactly what the user typed.
fn segment(id: &str) -> String {
    let mut out = String::new();
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub(super) fn client(conn: &Conn) -> Result<AdminClient, String> {
    let token = conn.token.clone().ok_or(
        "no token: give --token or set RUNSPACE_GATEWAY_TOKEN (the token whose SHA-256 is in [[admin.token]])",
    )?;
    let ca = match &conn.ca {
        Some(ca) => ca.clone(),
        None if std::path::Path::new(DEV_CA).exists() => PathBuf::from(DEV_CA),
        None => return Err(format!("no CA: give --ca FILE or set RUNSPACE_GATEWAY_CA (the CA that signed the admin certificate; `dev` writes {DEV_CA})")),
    };
    AdminClient::new(&conn.admin, &token, &ca)
}

fn run(job: Job) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return super::fail(format!("cannot start the async runtime: {e}")),
    };
    let answer: Result<Answer, String> = runtime.block_on(async {
        let client = client(&job.conn)?;
        client.call(job.method, &job.path, job.body).await
    });
    match answer {
        Err(e) => super::fail(e),
        Ok(a) if !a.status.is_success() => {
            if job.conn.json {
                println!("{}", a.body);
            }
            super::fail(a.error_message())
        }
        Ok(a) if job.conn.json => {
            println!(
                "{}",
                serde_json::to_string_pretty(&a.body).unwrap_or_default()
            );
            ExitCode::SUCCESS
        }
        Ok(a) => {
            print!("{}", (job.show)(&a.body));
            ExitCode::SUCCESS
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_sent_as_one_segment() {
        assert_eq!(segment("R-12"), "R-12");
        assert_eq!(segment("../x y"), "%2E%2E%2Fx%20y");
    }
}
