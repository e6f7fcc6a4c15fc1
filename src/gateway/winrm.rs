//! The WinRM part of the gateway: shell ownership for requests the inspector does not bind,
//! commands refused earlier, script blocks in pipeline input, then the pipeline decision.
//!
//! A pipeline is decided on the request that completes it: a single-fragment pipeline on its
//! Command, a fragmented one on the Send carrying its last fragment. Earlier fragments may go
//! on (the endpoint dispatches whole messages only, so nothing starts); the completing request
//! of a refused pipeline is never forwarded. Instead the gateway sends the endpoint its own
//! Signal terminate for that command, so no half-built pipeline is left there; the same for a
//! command whose pipeline input is refused.

use super::filter::{Ctx, Gateway};
use crate::inspect::WinrmInspection;
use crate::policy::{self, Policies};
use crate::proxy::filter::FilterOutcome;
use crate::refuse;
use crate::wsman::{signal, Action};
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
            let outcome = self.refuse_without_invocation(ctx, denial, body).await;
            return self.end_upstream_command(ctx, &w, outcome);
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
        self.end_upstream_command(ctx, &w, outcome)
    }

    /// A refused Send names a command the endpoint already holds (its Command went on): end it
    /// there with the gateway's own Signal terminate, sent in place of the Send, and remember
    /// it so the client's own later Signal is answered here (the endpoint no longer knows the
    /// command and would fault, which can end the client's session).
    fn end_upstream_command(
        &self,
        ctx: &Ctx<'_>,
        w: &WinrmInspection,
        outcome: FilterOutcome,
    ) -> FilterOutcome {
        let FilterOutcome::Respond(respond) = outcome else {
            return outcome;
        };
        let (Action::Send, Some(shell), Some(cmd)) = (&w.action, &w.shell_id, &w.command_id) else {
            return FilterOutcome::Respond(respond);
        };
        self.state.refused.remember(shell, cmd);
        tracing::info!(
            shell,
            command = cmd,
            "Send refused: sending the endpoint a Signal terminate for its command"
        );
        FilterOutcome::ForwardInstead {
            body: Bytes::from(signal::terminate_request(&w.session, shell, cmd)),
            set_headers: signal_soap_action(ctx.head),
            respond,
        }
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

/// A `SOAPAction` header naming the Signal, when the client's request carried one (WinRM
/// clients send none; the action is in the envelope). Quoted as the client quoted its own.
fn signal_soap_action(head: &http::request::Parts) -> http::HeaderMap {
    let mut headers = http::HeaderMap::new();
    let Some(original) = head.headers.get("soapaction") else {
        return headers;
    };
    let value = match original.as_bytes().first() {
        Some(b'"') => format!("\"{}\"", signal::ACTION_SIGNAL),
        _ => signal::ACTION_SIGNAL.to_string(),
    };
    if let Ok(value) = http::HeaderValue::from_str(&value) {
        headers.insert("soapaction", value);
    }
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(soap_action: Option<&str>) -> http::request::Parts {
        let mut b = http::Request::post("/wsman");
        if let Some(v) = soap_action {
            b = b.header("soapaction", v);
        }
        b.body(()).unwrap().into_parts().0
    }

    #[test]
    fn the_soap_action_header_is_replaced_only_when_the_client_sent_one() {
        assert!(signal_soap_action(&head(None)).is_empty());
        let bare = signal_soap_action(&head(Some("http://x/Send")));
        assert_eq!(bare["soapaction"], signal::ACTION_SIGNAL);
        let quoted = signal_soap_action(&head(Some("\"http://x/Send\"")));
        assert_eq!(
            quoted["soapaction"],
            format!("\"{}\"", signal::ACTION_SIGNAL).as_str()
        );
    }
}
