//! The words of a refusal: what was refused, which policy, who, and what to do next.
//!
//! Each message is one line the client shows as-is (pypsrp, pywinrm, PowerShell and the
//! Exchange module all print the text verbatim), so it names the command and ends with an action.

use super::code::CodeKind;
use super::decision::{Denial, DenyKind};
use super::name::ResolvedName;
use super::record::{PolicyRecord, Scope};
use crate::config::ApprovalKind;

/// Where in the invocation, and for whom.
#[derive(Debug, Clone, Copy)]
pub struct At<'a> {
    pub principal: &'a str,
    pub statement: usize,
    pub position: usize,
}

impl At<'_> {
    fn denial(&self, kind: DenyKind, cmdlet: &str, reason: String) -> Denial {
        Denial {
            kind,
            cmdlet: cmdlet.to_string(),
            policy_id: None,
            principal: self.principal.to_string(),
            reason,
            how_to_request: None,
            statement: self.statement,
            position: self.position,
        }
    }
}

/// `Invoke-Expression (called as iex)`, or just the name.
fn called(name: &ResolvedName) -> String {
    match &name.alias {
        Some(alias) => format!("{} (called as {alias})", name.display),
        None => name.display.clone(),
    }
}

/// What the user asks for: the role when the policy is role-scoped, else the cmdlet.
fn request_target(record: &PolicyRecord, role_of: impl Fn(&str) -> bool, cmdlet: &str) -> String {
    match &record.scope {
        Scope::Task(_) => format!("--task {cmdlet}"),
        Scope::Role(r) => format!("--role {r}"),
        Scope::RoleGroup(roles) => match roles.iter().find(|r| role_of(r)) {
            Some(r) => format!("--role {r}"),
            None => format!("--task {cmdlet}"),
        },
    }
}

/// A covered cmdlet without a live grant: name the policy and give the request command.
pub fn needs_grant(
    at: At,
    name: &ResolvedName,
    record: &PolicyRecord,
    hours: u32,
    role_of: impl Fn(&str) -> bool,
) -> Denial {
    // A task policy spells the cmdlet the way an administrator wrote it: show that spelling,
    // whatever casing the client sent.
    let display = match &record.scope {
        Scope::Task(t) if !t.contains(['*', '?']) && name.alias.is_none() => {
            super::strip_module(t).trim().to_string()
        }
        _ => name.display.clone(),
    };
    let name = &ResolvedName {
        display,
        ..name.clone()
    };
    let target = request_target(record, role_of, &name.display);
    let how = format!("runspace-gateway request new {target} --reason \"...\" --hours {hours}");
    let approval = match record.approval {
        ApprovalKind::Manual => format!(
            "requires approval (policy {}, approvers {})",
            record.id, record.approvers
        ),
        ApprovalKind::Auto => format!(
            "requires a grant (policy {}, approved automatically on request)",
            record.id
        ),
    };
    let reason = format!(
        "{} {approval}, and {} has no active grant for it. Request it with: {how}",
        called(name),
        at.principal
    );
    let mut d = at.denial(DenyKind::NeedsGrant, &name.display, reason);
    d.policy_id = Some(record.id.clone());
    d.how_to_request = Some(how);
    d
}

/// `default = "deny"` and nothing allows the cmdlet.
pub fn not_allow_listed(at: At, name: &ResolvedName) -> Denial {
    let reason = format!(
        "{} is not on this gateway's allow-list ([pam] default = \"deny\"), so {} may not run it. \
         Ask a gateway administrator to add it to [pam] always_allow or to an approval policy.",
        called(name),
        at.principal
    );
    at.denial(DenyKind::NotAllowListed, &name.display, reason)
}

/// Code the gateway cannot check, with `[pam] scripts = "deny"`.
pub fn script(at: At, name: &ResolvedName, kind: &CodeKind) -> Denial {
    const RULE: &str = "code the gateway cannot check ([pam] scripts = \"deny\")";
    let (cmdlet, what, todo) = match kind {
        CodeKind::Script => (
            "script".to_string(),
            format!("{} sent a script, {RULE}", at.principal),
            "Send each cmdlet as a command with parameters instead of script text.",
        ),
        CodeKind::ScriptBlock => (
            name.display.clone(),
            format!(
                "{} carries a script block, {RULE}; {} may not send it",
                called(name),
                at.principal
            ),
            "Pass plain values instead (for -Filter, a string such as \"Name -eq 'x'\").",
        ),
        CodeKind::Program => (
            name.display.clone(),
            format!(
                "{} names a program or script file, {RULE}; {} may not run it",
                called(name),
                at.principal
            ),
            "Call the cmdlets you need directly.",
        ),
        CodeKind::CodeCmdlet(why) => (
            name.display.clone(),
            format!(
                "{} {why}: {RULE}; {} may not run it",
                called(name),
                at.principal
            ),
            "Call the cmdlets you need directly.",
        ),
    };
    at.denial(DenyKind::Script, &cmdlet, format!("{what}. {todo}"))
}

/// An invocation without a single command.
pub fn empty(principal: &str) -> Denial {
    let at = At {
        principal,
        statement: 0,
        position: 0,
    };
    let reason = format!(
        "The request from {principal} carries no command to check, so the gateway refuses it. \
         Send at least one cmdlet."
    );
    at.denial(DenyKind::Empty, "", reason)
}

/// Pipeline input carrying a script block, sent in a request that starts no pipeline.
pub fn script_input(principal: &str) -> Denial {
    let at = At {
        principal,
        statement: 0,
        position: 0,
    };
    let reason = format!(
        "{principal} sent pipeline input carrying a script block, code the gateway cannot check \
         ([pam] scripts = \"deny\"). Pass plain values instead."
    );
    at.denial(DenyKind::Script, "", reason)
}

/// A shell used by someone other than the principal that opened it.
pub fn foreign_shell(principal: &str, shell_id: &str) -> Denial {
    let at = At {
        principal,
        statement: 0,
        position: 0,
    };
    let reason = format!(
        "Session {shell_id} was opened by another user; {principal} may not use it. Open your \
         own session (New-PSSession or Connect-ExchangeOnline) and run the command there."
    );
    at.denial(DenyKind::ForeignShell, "", reason)
}

/// A request the gateway could not read, refused rather than forwarded unchecked.
pub fn uninspectable(principal: &str, problem: &str) -> Denial {
    let at = At {
        principal,
        statement: 0,
        position: 0,
    };
    let reason = format!(
        "The gateway could not read this request ({problem}), so it was not forwarded. \
         Fix the client or its settings and try again."
    );
    at.denial(DenyKind::Uninspectable, "", reason)
}

/// No policy set could be compiled: refuse rather than run with a set that may miss a policy.
pub fn policies_unavailable(principal: &str, error: &str) -> Denial {
    let at = At {
        principal,
        statement: 0,
        position: 0,
    };
    let reason = format!(
        "The gateway's approval policies failed to load ({error}), so every command is refused \
         until an administrator fixes the policy set."
    );
    at.denial(DenyKind::PolicyUnavailable, "", reason)
}
