//! `decide()`: the gateway's whole security policy, pure and on one screen.
//!
//! 1. PAM off: allow (rate limits still apply).
//! 2. No command at all: deny.
//! 3. For every command of every statement, in order; the first refusal refuses everything:
//!    a. code the gateway cannot check is refused while `scripts = "deny"`, for everyone,
//!    system accounts included (an exemption is for known cmdlets run on a schedule, and audit
//!    cannot record what a script did);
//!    b. system accounts skip everything else;
//!    c. a cmdlet covered by a policy needs a live grant of this principal, approved under a
//!    policy that still covers it;
//!    d. an uncovered cmdlet follows `default`: allow, or allow only if `always_allow` matches.
//! 4. Only then ask the rate limits, so refused calls use up no quota.

use super::code;
use super::compiled::{principal_key, Policies};
use super::decision::{AllowBasis, Allowed, Decision, Denial, GrantUse};
use super::limits::RateCheck;
use super::message::{self, At};
use super::name::{self, ResolvedName};
use crate::clock::Millis;
use crate::config::{DefaultAction, ScriptsAction};
use crate::grants::Grants;
use crate::invocation::{Command, Invocation};

/// Decide one invocation. Pure: reads its arguments, performs no I/O, keeps no state (the
/// `limits` implementation counts calls; it is consulted only for allowed invocations).
pub fn decide(
    inv: &Invocation,
    policies: &Policies,
    grants: &Grants,
    limits: &dyn RateCheck,
    now: Millis,
) -> Decision {
    let principal = principal_key(&inv.principal);
    if !policies.enabled() {
        return rate_checked(inv, limits, now, AllowBasis::PamDisabled, Vec::new());
    }
    if inv.commands().next().is_none() {
        return Decision::Deny(message::empty(&principal));
    }
    let exempt = policies.is_system_account(&principal);
    let check = Check {
        policies,
        grants,
        now,
        exempt,
    };
    let mut used = Vec::new();
    for (statement, pipeline) in inv.statements.iter().enumerate() {
        for (position, cmd) in pipeline.iter().enumerate() {
            let at = At {
                principal: &principal,
                statement,
                position,
            };
            if let Err(denial) = check.command(cmd, at, &mut used) {
                return Decision::Deny(*denial);
            }
        }
    }
    let basis = if exempt {
        AllowBasis::SystemAccount
    } else {
        AllowBasis::Policy
    };
    rate_checked(inv, limits, now, basis, used)
}

fn rate_checked(
    inv: &Invocation,
    limits: &dyn RateCheck,
    now: Millis,
    basis: AllowBasis,
    grants_used: Vec<GrantUse>,
) -> Decision {
    match limits.check(inv, now) {
        Ok(()) => Decision::Allow(Allowed { basis, grants_used }),
        Err(throttle) => Decision::Throttle(throttle),
    }
}

/// Pipeline input sent on its own (a Send after the pipeline started): its script blocks are
/// code like any other, refused while `scripts = "deny"` (system accounts included).
pub fn decide_input(
    principal: &str,
    policies: &Policies,
    has_script_block: bool,
) -> Option<Denial> {
    let refused =
        policies.enabled() && has_script_block && policies.scripts() == ScriptsAction::Deny;
    refused.then(|| message::script_input(&principal_key(principal)))
}

/// The per-command rules (steps 3a-3d).
struct Check<'a> {
    policies: &'a Policies,
    grants: &'a Grants,
    now: Millis,
    exempt: bool,
}

impl Check<'_> {
    fn command(&self, cmd: &Command, at: At, used: &mut Vec<GrantUse>) -> Result<(), Box<Denial>> {
        let name = name::resolve(&cmd.name, cmd.module.as_deref());
        if let Some(kind) = code::classify(cmd, &name) {
            if self.policies.scripts() == ScriptsAction::Deny {
                return Err(Box::new(message::script(at, &name, &kind)));
            }
            if cmd.is_script {
                return Ok(()); // `scripts = "allow"`: script text names no cmdlet to match.
            }
        }
        if self.exempt {
            return Ok(());
        }
        let covering = self.policies.covering(&name.key);
        if !covering.is_empty() {
            return self.granted(&name, &covering, at, used);
        }
        match self.policies.default_action() {
            DefaultAction::Allow => Ok(()),
            DefaultAction::Deny if self.policies.always_allowed(&name.key) => Ok(()),
            DefaultAction::Deny => Err(Box::new(message::not_allow_listed(at, &name))),
        }
    }

    /// Step 3c: a live grant under one of the covering policies, or a refusal naming the first.
    fn granted(
        &self,
        name: &ResolvedName,
        covering: &[usize],
        at: At,
        used: &mut Vec<GrantUse>,
    ) -> Result<(), Box<Denial>> {
        let p = self.policies;
        let role_covers = |role: &str| p.role_covers(role, &name.key);
        let policy_ok = |id: &str| {
            let covers = |&i: &usize| p.policy(i).is_some_and(|c| c.record.id == id);
            covering.iter().any(covers)
        };
        let Some(g) = self
            .grants
            .find(at.principal, &name.key, self.now, role_covers, policy_ok)
        else {
            let first = covering.first().and_then(|&i| p.policy(i));
            return Err(Box::new(match first {
                Some(c) => {
                    let hours = p.request_hours(&c.record);
                    message::needs_grant(at, name, &c.record, hours, role_covers)
                }
                None => message::not_allow_listed(at, name),
            }));
        };
        if !used.iter().any(|u| u.grant_id == g.id) {
            used.push(GrantUse {
                policy_id: g.policy_id,
                grant_id: g.id,
                request_id: g.request_id,
                approver: g.approver,
                cmdlet: name.display.clone(),
            });
        }
        Ok(())
    }
}
