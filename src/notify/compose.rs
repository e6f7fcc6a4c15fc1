//! What the notifications say. Plain text: it reads the same in a mail client, Slack and Teams.

use crate::clock::{rfc3339, Millis};
use crate::grants::record::GrantRecord;
use crate::store::{Channel, OutboxMessage, RequestRecord};

/// The mail to one approver when a request arrives: who, what, why, how long, and the exact
/// commands to approve or deny it.
pub fn request_arrived(r: &RequestRecord, to: Channel, now: Millis) -> OutboxMessage {
    let subject = format!(
        "[runspace-gateway] {} requests {} for {} h ({})",
        r.requester, r.task, r.hours, r.id
    );
    let body = format!(
        "{who} requests elevated access.\n\n\
         Request:  {id}\n\
         Task:     {task}\n\
         Reason:   {reason}\n\
         Duration: {hours} hour(s) from approval\n\
         Policy:   {policy} (approvers: {group})\n\
         Pending until: {until}\n\n\
         To approve:\n  runspace-gateway request approve {id} --comment \"...\"\n\
         To deny:\n  runspace-gateway request deny {id} --comment \"...\"\n",
        who = r.requester,
        id = r.id,
        task = r.task,
        reason = r.reason,
        hours = r.hours,
        policy = r.policy_id,
        group = r.approvers,
        until = rfc3339(r.pending_expires_at_ms),
    );
    OutboxMessage {
        channel: to,
        subject,
        body,
        created_at_ms: now,
    }
}

/// The mail to the requester after a decision (approved, denied, expired, revoked).
pub fn decided(
    r: &RequestRecord,
    grant: Option<&GrantRecord>,
    to: Channel,
    now: Millis,
) -> OutboxMessage {
    let subject = format!("[runspace-gateway] {} {}: {}", r.id, r.state, r.task);
    let by = r.decided_by.as_deref().unwrap_or("system");
    let mut body = format!(
        "Your request {id} for {task} was {state} by {by}.\n",
        id = r.id,
        task = r.task,
        state = r.state,
    );
    if let Some(c) = r.comments.last().filter(|c| c.author == by) {
        body.push_str(&format!("Comment: {}\n", c.text));
    }
    if let Some(g) = grant.filter(|_| r.state == crate::store::RequestState::Approved) {
        body.push_str(&format!(
            "\nYou may run {task} until {until} (grant {gid}).\n",
            task = r.task,
            until = rfc3339(g.expires_at_ms),
            gid = g.id
        ));
    }
    if r.state == crate::store::RequestState::Expired {
        body.push_str(&format!(
            "\nNobody decided in time. Ask again with:\n  runspace-gateway request new --task {} --reason \"...\" --hours {}\n",
            r.task, r.hours
        ));
    }
    OutboxMessage {
        channel: to,
        subject,
        body,
        created_at_ms: now,
    }
}
