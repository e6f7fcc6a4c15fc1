//! `runspace-gateway ratelimit status`: the rules and the keys most throttled recently, read
//! from the admin API (`GET /v1/ratelimit`) through the shared admin client.

use super::admin_client::{client, Conn};
use crate::ratelimit::{RateLimitStatus, STATUS_PATH};
use std::process::ExitCode;

#[derive(Debug, clap::Subcommand)]
pub enum RatelimitCommand {
    /// Show the rules and the keys most throttled recently.
    Status {
        #[command(flatten)]
        conn: Conn,
    },
}

pub fn run(c: RatelimitCommand) -> ExitCode {
    match c {
        RatelimitCommand::Status { conn } => status(&conn),
    }
}

fn status(conn: &Conn) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return super::fail(format!("cannot start the async runtime: {e}")),
    };
    let answer = runtime.block_on(async {
        client(conn)?
            .call(http::Method::GET, STATUS_PATH, None)
            .await
    });
    let body = match answer {
        Err(e) => return super::fail(e),
        Ok(a) if !a.status.is_success() => return super::fail(a.error_message()),
        Ok(a) => a.body,
    };
    if conn.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&body).unwrap_or_default()
        );
        return ExitCode::SUCCESS;
    }
    match serde_json::from_value::<RateLimitStatus>(body) {
        Ok(status) => {
            print!("{}", render(&status));
            ExitCode::SUCCESS
        }
        Err(e) => super::fail(format!(
            "admin API: GET {STATUS_PATH} answered JSON this version cannot read ({e}); \
             are the CLI and the gateway the same version?"
        )),
    }
}

/// The status as a person reads it.
pub fn render(s: &RateLimitStatus) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "RULE                 KEY               QUOTA          BURST  KEYS     THROTTLED  CMDLETS"
    );
    for r in &s.rules {
        let quota = format!("{}/{}", r.quota.count, r.quota.per);
        let _ = writeln!(
            out,
            "{:<20} {:<17} {:<14} {:<6} {:<8} {:<10} {}",
            r.name,
            r.key,
            quota,
            r.burst,
            r.active_keys,
            r.throttled_total,
            r.cmdlets.join(",")
        );
    }
    let minutes = s.recent_window_secs / 60;
    if s.top_throttled.is_empty() {
        let _ = writeln!(out, "\nNo key throttled in the last {minutes} minutes.");
        return out;
    }
    let _ = writeln!(out, "\nMost throttled in the last {minutes} minutes:");
    let _ = writeln!(
        out,
        "COUNT    RULE                 LAST                      KEY"
    );
    for k in &s.top_throttled {
        let _ = writeln!(
            out,
            "{:<8} {:<20} {:<25} {}",
            k.count, k.rule, k.last_throttled, k.key
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ratelimit::{QuotaStatus, RuleStatus, ThrottledKey};

    #[test]
    fn render_lists_rules_then_throttled_keys_or_says_there_are_none() {
        let mut s = RateLimitStatus {
            rules: vec![RuleStatus {
                name: "per-user".into(),
                key: "principal".into(),
                cmdlets: vec!["Get-*".into(), "Set-Mailbox".into()],
                quota: QuotaStatus {
                    count: 600,
                    per: "minute".into(),
                },
                burst: 50,
                max_keys: 100_000,
                active_keys: 12,
                throttled_total: 9,
            }],
            top_throttled: vec![],
            recent_window_secs: 900,
        };
        let text = render(&s);
        assert!(
            text.contains("per-user")
                && text.contains("600/minute")
                && text.contains("Get-*,Set-Mailbox")
        );
        assert!(
            text.contains("No key throttled in the last 15 minutes."),
            "{text}"
        );
        s.top_throttled.push(ThrottledKey {
            rule: "per-user".into(),
            key: "bob@contoso.com".into(),
            count: 9,
            first_throttled: "2026-01-01T00:00:00.000Z".into(),
            last_throttled: "2026-01-01T00:01:00.000Z".into(),
        });
        let text = render(&s);
        assert!(
            text.lines()
                .any(|l| l.starts_with("9 ") && l.ends_with("bob@contoso.com")),
            "{text}"
        );
    }
}
