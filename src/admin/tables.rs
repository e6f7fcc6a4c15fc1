//! Human output of the admin CLI commands (`policy`, `request`, `grant`): aligned tables and
//! short summaries of the API's JSON.

use crate::clock::rfc3339;
use serde_json::Value;

/// Widest cell printed; longer text is cut with an ellipsis.
const MAX_CELL_CHARS: usize = 48;

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

fn time(v: &Value) -> String {
    v.as_i64()
        .map(|ms| rfc3339(ms)[..16].replace('T', " "))
        .unwrap_or_else(|| "-".into())
}

fn cut(s: String) -> String {
    if s.chars().count() <= MAX_CELL_CHARS {
        return s;
    }
    let mut short: String = s.chars().take(MAX_CELL_CHARS - 1).collect();
    short.push('…');
    short
}

/// Align `rows` under `headers`.
pub fn table(headers: &[&str], rows: Vec<Vec<String>>) -> String {
    let rows: Vec<Vec<String>> = rows
        .into_iter()
        .map(|r| r.into_iter().map(cut).collect())
        .collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut out = line(headers.iter().map(|h| h.to_string()).collect());
    for row in rows {
        out.push_str(&line(row));
    }
    out
}

fn scope(v: &Value) -> String {
    let Some(obj) = v.as_object() else {
        return text(v);
    };
    obj.iter()
        .map(|(k, v)| match v {
            Value::Array(items) => format!(
                "{k}: {}",
                items.iter().map(text).collect::<Vec<_>>().join(",")
            ),
            other => format!("{k}: {}", text(other)),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn list<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v[key].as_array().map(Vec::as_slice).unwrap_or_default()
}

pub fn policies(v: &Value) -> String {
    let rows = list(v, "policies").iter().map(|p| {
        vec![
            text(&p["id"]),
            scope(&p["scope"]),
            text(&p["approval"]),
            text(&p["approvers"]),
            text(&p["max_hours"]),
        ]
    });
    table(
        &["ID", "SCOPE", "APPROVAL", "APPROVERS", "MAX HOURS"],
        rows.collect(),
    )
}

pub fn policy(p: &Value) -> String {
    format!(
        "Created policy {}: {} ({}, approvers {}, at most {} h)\n",
        text(&p["id"]),
        scope(&p["scope"]),
        text(&p["approval"]),
        text(&p["approvers"]),
        text(&p["max_hours"])
    )
}

pub fn removed(p: &Value) -> String {
    format!(
        "Removed policy {}: {}\n",
        text(&p["id"]),
        scope(&p["scope"])
    )
}

pub fn requests(v: &Value) -> String {
    let rows = list(v, "requests").iter().map(|r| {
        vec![
            text(&r["id"]),
            text(&r["state"]),
            text(&r["requester"]),
            text(&r["task"]),
            text(&r["hours"]),
            time(&r["created_at_ms"]),
            text(&r["reason"]),
        ]
    });
    table(
        &[
            "ID",
            "STATE",
            "REQUESTER",
            "TASK",
            "HOURS",
            "CREATED (UTC)",
            "REASON",
        ],
        rows.collect(),
    )
}

pub fn grants(v: &Value) -> String {
    let rows = list(v, "grants").iter().map(|g| {
        vec![
            text(&g["id"]),
            text(&g["principal"]),
            scope(&g["scope"]),
            time(&g["expires_at_ms"]),
            text(&g["request_id"]),
            text(&g["approver"]),
        ]
    });
    table(
        &[
            "ID",
            "PRINCIPAL",
            "SCOPE",
            "EXPIRES (UTC)",
            "REQUEST",
            "APPROVER",
        ],
        rows.collect(),
    )
}

/// A request after it was filed or decided, with what happens next.
pub fn decision(r: &Value) -> String {
    let (id, state) = (text(&r["id"]), text(&r["state"]));
    let mut out = format!(
        "{id} {state}: {} asks for {} for {} h ({}).\n",
        text(&r["requester"]),
        text(&r["task"]),
        text(&r["hours"]),
        text(&r["reason"])
    );
    for c in r["comments"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        out.push_str(&format!(
            "  comment by {}: {}\n",
            text(&c["author"]),
            text(&c["text"])
        ));
    }
    match state.as_str() {
        "pending" => out.push_str(&format!(
            "Waiting for a member of {} to approve (they have been notified); it expires at {}.\n",
            text(&r["approvers"]),
            time(&r["pending_expires_at_ms"])
        )),
        "approved" => {
            let grant = &r["grant"];
            if grant.is_object() {
                out.push_str(&format!(
                    "Grant {} is in force until {} UTC.\n",
                    text(&grant["id"]),
                    time(&grant["expires_at_ms"])
                ));
            } else {
                out.push_str(&format!(
                    "Approved by {}; grant {}.\n",
                    text(&r["decided_by"]),
                    text(&r["grant_id"])
                ));
            }
        }
        "revoked" => out.push_str("The grant has ended; the next call is refused.\n"),
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_and_cut_long_cells() {
        let t = table(
            &["ID", "TASK"],
            vec![
                vec!["R-1".into(), "x".repeat(60)],
                vec!["R-10".into(), "y".into()],
            ],
        );
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "ID    TASK");
        assert!(lines[1].starts_with("R-1   xxx") && lines[1].ends_with('…'));
        assert_eq!(lines[1].chars().count(), 6 + MAX_CELL_CHARS);
        assert_eq!(lines[2], "R-10  y");
    }
}
