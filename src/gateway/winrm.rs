//! The WinRM part of the gateway: shell ownership for requests the inspector does not bind,
//! commands refused earlier, script blocks in pipeline input, then the pipeline decision.
//!
//! A pipeline is decided on the request that completes it: a single-fragment pipeline on its
//! Command, a fragmented one on the Send carrying its last fragment. Earlier fragments may go
//! on (the endpoint dispatches whole messages only, so nothing starts); the completing request
//! of a refused pipeline is never forwarded.

use super::filter::{Ctx, Gateway};
use crate::inspect::WinrmInspection;
use crate::policy::{self, Policies};
use crate::proxy::filter::FilterOutcome;
use crate::refuse;
use crate::wsman::Action;
use bytes::Bytes;

impl Gateway {
    pub(super) async fn winrm(
        &self,
        ctx: &Ctx<'_>,
        w: WinrmInspection,
        policies: &Policies,
        body: Bytes,
    ) -> FilterOutcome {
        let principal = self.principal(ctx.head);
        if let Some(denial) = self.unbound_shell(&w, &principal) {
            return self.refuse_without_invocation(ctx, denial, body).await;
        }
        if let Some(local) = self.answer_refused_command(ctx, &w) {
            return local;
        }
        if let Some(denial) = policy::decide_input(&principal, policies, w.input_has_script_block())
        {
            return self.refuse_without_invocation(ctx, denial, body).await;
        }
        let Some(inv) = w.invocation() else {
            return FilterOutcome::Forward(body);
        };
        let outcome = self.invocation(ctx, inv, policies, body).await;
        if matches!(outcome, FilterOutcome::Respond(_)) && w.action == Action::Command {
            if let (Some(shell), Some(cmd)) = (&w.shell_id, &w.command_id) {
                self.state.refused.remember(shell, cmd);
            }
        }
        outcome
    }

    /// Receive and Signal name a shell the inspector does not check: it must be a shell opened
    /// through this gateway, by this principal. (Create binds the shell; Command, Send and
    /// Delete are checked by the inspector itself.)
    fn unbound_shell(&self, w: &WinrmInspection, principal: &str) -> Option<policy::Denial> {
        if !matches!(w.action, Action::Receive | Action::Signal) {
            return None;
        }
        let shell = w.shell_id.as_deref()?;
        match self.state.inspector.winrm().shell_owner(shell) {
            Some(owner) if owner.eq_ignore_ascii_case(principal) => None,
            Some(_) => Some(policy::foreign_shell(principal, shell)),
            None => Some(policy::uninspectable(
                principal,
                &format!("shell {shell} was not opened through this gateway; open a new session"),
            )),
        }
    }

    /// A Signal (or anything else) for a command refused on its Command request is answered
    /// here: the endpoint never saw that CommandId.
    fn answer_refused_command(&self, ctx: &Ctx<'_>, w: &WinrmInspection) -> Option<FilterOutcome> {
        if w.action == Action::Command {
            return None;
        }
        let (shell, cmd) = (w.shell_id.as_deref()?, w.command_id.as_deref()?);
        if !self.state.refused.contains(shell, cmd) {
            return None;
        }
        let response = match w.action {
            Action::Signal => refuse::winrm_signal_response(&ctx.reply),
            _ => refuse::winrm_access_denied(
                &ctx.reply,
                &format!("Command {cmd} was refused by the gateway and never started."),
            ),
        };
        Some(FilterOutcome::Respond(response))
    }
}
