//! What `decide()` returns, and what the gateway does with it.

use super::limits::Throttle;

/// The outcome for one invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Every command of every statement may run.
    Allow(Allowed),
    /// At least one command may not; nothing of the invocation may run.
    Deny(Denial),
    /// Allowed by policy, but over a rate limit.
    Throttle(Throttle),
}

impl Decision {
    /// Whether the gateway answers with a refusal instead of forwarding.
    ///
    /// `enforcing` is [`super::Policies::enforcing`]: with PAM off or in shadow mode a denial is
    /// recorded (audit) but the invocation is forwarded. Throttles protect the endpoint and are
    /// refused in every mode.
    pub fn refuses(&self, enforcing: bool) -> bool {
        match self {
            Decision::Allow(_) => false,
            Decision::Deny(_) => enforcing,
            Decision::Throttle(_) => true,
        }
    }

    /// A short word for logs, metrics and audit.
    pub fn outcome(&self) -> &'static str {
        match self {
            Decision::Allow(_) => "allow",
            Decision::Deny(_) => "deny",
            Decision::Throttle(_) => "throttle",
        }
    }
}

/// Why an invocation was allowed, and which grants it relied on (for audit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowed {
    pub basis: AllowBasis,
    /// One entry per distinct grant relied on, in the order first needed.
    pub grants_used: Vec<GrantUse>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllowBasis {
    /// `[pam] enabled = false`.
    PamDisabled,
    /// The principal is in `[pam] system_accounts`.
    SystemAccount,
    /// Every command was uncovered and allowed by default, allow-listed, or granted.
    Policy,
}

/// A grant an allowed invocation relied on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantUse {
    pub policy_id: String,
    pub grant_id: String,
    pub request_id: String,
    pub approver: String,
    /// The first cmdlet that needed it (usual spelling).
    pub cmdlet: String,
}

/// Why an invocation was refused, in words the user can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    pub kind: DenyKind,
    /// The refused command (usual spelling; `script` for script text).
    pub cmdlet: String,
    /// The policy that requires a grant, when a policy refused it.
    pub policy_id: Option<String>,
    /// The folded principal.
    pub principal: String,
    /// The full message shown to the user: what, which policy, who, and what to do.
    pub reason: String,
    /// The ready-to-run request command, when a grant would allow the call.
    pub how_to_request: Option<String>,
    /// Where the refused command sits: statement index and position in its pipeline.
    pub statement: usize,
    pub position: usize,
}

/// The kinds of refusal; each maps to an audit field and a metric label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DenyKind {
    /// Covered by a policy and the principal holds no live grant for it.
    NeedsGrant,
    /// `default = "deny"` and neither a policy nor `always_allow` covers it.
    NotAllowListed,
    /// Code the gateway cannot check (script, script block, program, code-running cmdlet).
    Script,
    /// The invocation carried no command at all.
    Empty,
    /// The gateway could not read the request (set by the gateway, not by `decide`).
    Uninspectable,
    /// A shell used by a principal other than the one that created it (set by the gateway).
    ForeignShell,
    /// The policy set failed to compile; everything is refused until it does (gateway).
    PolicyUnavailable,
}

impl DenyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DenyKind::NeedsGrant => "needs_grant",
            DenyKind::NotAllowListed => "not_allow_listed",
            DenyKind::Script => "script",
            DenyKind::Empty => "empty",
            DenyKind::Uninspectable => "uninspectable",
            DenyKind::ForeignShell => "foreign_shell",
            DenyKind::PolicyUnavailable => "policy_unavailable",
        }
    }
}
