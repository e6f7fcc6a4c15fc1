//! The WinRM front door of the mock: one SOAP request in, one SOAP response out.
//!
//! Requests are read with the gateway's own envelope parser and PSRP codec, so the mock and the
//! gateway can never disagree about what a client sent. Receive long-polls: it waits for output
//! up to [`super::MockOptions::receive_wait`], then answers the OperationTimeout fault that
//! clients expect and retry.

use super::echo::{self, Caller};
use super::pipeline;
use super::registry::{ShellSlot, MAX_SHELLS};
use super::shells::{ClientError, CommandStage, Shell, Target};
use super::MockState;
use crate::config::InspectLimits;
use crate::inspect::xml::XmlLimits;
use crate::invocation::Protocol;
use crate::wsman::action::Action;
use crate::wsman::envelope::{self, Body, Envelope};
use crate::wsman::response::{self as soap, CommandState, Fault, OutStream};
use base64::Engine;

/// WSManFault codes the mock answers with. None is one PowerShell special-cases (protocol.md
/// §5.1) except [`soap::FAULT_NO_SUCH_SHELL`], which is meant: the shell or command is gone.
const FAULT_BAD_REQUEST: u32 = 0x8033_8041;
const FAULT_ACTION_NOT_SUPPORTED: u32 = 0x8033_8003;
const FAULT_BAD_PSRP: u32 = 0x8033_8082;
const FAULT_QUOTA: u32 = 0x8033_81A6;
const FAULT_ACCESS_DENIED: u32 = 5;

/// The machine name written into faults.
const MACHINE: &str = "runspace-gateway-mock";

/// A SOAP answer: 200 for a response, 500 for a fault.
pub struct SoapReply {
    pub status: u16,
    pub body: String,
}

fn ok(body: String) -> SoapReply {
    SoapReply { status: 200, body }
}

fn sender_fault(relates_to: &str, subcode: &str, code: u32, message: &str) -> SoapReply {
    let fault = Fault {
        code: "s:Sender",
        subcode,
        wsman_code: code,
        machine: MACHINE,
        message,
    };
    SoapReply {
        status: 500,
        body: soap::fault(relates_to, &fault),
    }
}

/// Answer one WinRM request from `user`; `query` is the URL query (for `DelegatedOrg`).
pub async fn handle(state: &MockState, user: &str, query: Option<&str>, body: &[u8]) -> SoapReply {
    let defaults = InspectLimits::default();
    let limits = XmlLimits {
        max_depth: defaults.max_xml_depth,
        max_attributes: defaults.max_xml_attributes,
    };
    let env = match envelope::parse_request(body, &limits) {
        Ok(e) => e,
        Err(e) => {
            return sender_fault(
                "",
                "w:SchemaValidationError",
                FAULT_BAD_REQUEST,
                &format!("the mock could not read this request: {e}"),
            )
        }
    };
    let relates = env.message_id.clone().unwrap_or_default();
    if env.action == Action::Create {
        return create(state, user, query, &env, &relates);
    }
    let Some(slot) = env.shell_id.as_deref().and_then(|id| state.shells.get(id)) else {
        let msg = format!(
            "The shell {:?} does not exist on the mock; it was deleted or never created.",
            env.shell_id.as_deref().unwrap_or("")
        );
        return SoapReply {
            status: 500,
            body: soap::unknown_shell_fault(&relates, MACHINE, &msg),
        };
    };
    if slot.owner() != user {
        return sender_fault(
            &relates,
            "w:AccessDenied",
            FAULT_ACCESS_DENIED,
            "This shell belongs to another user.",
        );
    }
    dispatch(state, &slot, &env, &relates).await
}

/// Answer a request on an existing shell of this user.
async fn dispatch(state: &MockState, slot: &ShellSlot, env: &Envelope, relates: &str) -> SoapReply {
    let reply = match (&env.action, &env.body) {
        (
            Action::Command,
            Body::Command {
                command_id,
                arguments,
            },
        ) => command(
            state,
            slot,
            command_id.as_deref(),
            arguments.as_deref(),
            relates,
        ),
        (Action::Send, Body::Send { streams }) => {
            let parts: Vec<_> = streams
                .iter()
                .map(|s| (s.command_id.as_deref(), s.data.as_slice()))
                .collect();
            send(state, slot, &parts, relates)
        }
        (Action::Receive, Body::Receive { streams }) => {
            let command_id = streams.first().and_then(|s| s.command_id.clone());
            return receive(state, slot, command_id, relates).await;
        }
        (Action::Signal, Body::Signal { command_id, code }) => {
            signal(state, slot, command_id.as_deref(), code, relates)
        }
        (Action::Get, _) => {
            let (id, owner) = {
                let shell = slot.lock();
                (shell.id.clone(), shell.owner.clone())
            };
            ok(soap::get_response(relates, &id, &owner))
        }
        (Action::Delete, _) => {
            state
                .shells
                .remove(env.shell_id.as_deref().unwrap_or_default());
            ok(soap::delete_response(relates))
        }
        (action, _) => {
            let msg = format!("The mock does not support the {} action.", action.name());
            sender_fault(
                relates,
                "w:ActionNotSupported",
                FAULT_ACTION_NOT_SUPPORTED,
                &msg,
            )
        }
    };
    slot.output().notify_waiters();
    reply
}

fn create(
    state: &MockState,
    user: &str,
    query: Option<&str>,
    env: &Envelope,
    relates: &str,
) -> SoapReply {
    let (proposed, creation_xml) = match &env.body {
        Body::Create {
            shell_id,
            creation_xml,
        } => (shell_id.clone(), creation_xml.as_deref()),
        _ => (None, None),
    };
    let id = proposed.unwrap_or_else(new_id).to_uppercase();
    let resource_uri = env.resource_uri.clone().unwrap_or_default();
    let mut shell = Shell::new(id.clone(), user.to_owned(), delegated_org(query));
    if let Some(data) = creation_xml {
        if let Err(e) = shell.receive_fragments(&Target::Pool, data) {
            return sender_fault(relates, "w:InvalidParameter", FAULT_BAD_PSRP, &e.0);
        }
    }
    if !state.shells.insert(id.clone(), shell) {
        let msg = format!(
            "The mock holds {MAX_SHELLS} shells already, or {id} exists; close some first."
        );
        return sender_fault(relates, "w:QuotaLimit", FAULT_QUOTA, &msg);
    }
    let address = env
        .to
        .clone()
        .unwrap_or_else(|| "http://localhost/wsman".to_owned());
    ok(soap::create_response(relates, &address, &resource_uri, &id))
}

fn command(
    state: &MockState,
    slot: &ShellSlot,
    id: Option<&str>,
    args: Option<&[u8]>,
    relates: &str,
) -> SoapReply {
    let id = id.map(str::to_uppercase).unwrap_or_else(new_id);
    slot.lock().add_command(&id);
    if let Some(data) = args {
        if let Err(reply) = feed(state, slot, &Target::Command(id.clone()), data, relates) {
            return reply;
        }
    }
    ok(soap::command_response(relates, &id))
}

fn send(
    state: &MockState,
    slot: &ShellSlot,
    parts: &[(Option<&str>, &[u8])],
    relates: &str,
) -> SoapReply {
    for (command_id, data) in parts {
        let target = match command_id {
            Some(id) => {
                let id = id.to_uppercase();
                if !slot.lock().has_command(&id) {
                    let msg = format!("The command {id} does not exist on this shell.");
                    return sender_fault(
                        relates,
                        "w:InvalidSelectors",
                        soap::FAULT_NO_SUCH_SHELL,
                        &msg,
                    );
                }
                Target::Command(id)
            }
            None => Target::Pool,
        };
        if let Err(reply) = feed(state, slot, &target, data, relates) {
            return reply;
        }
    }
    ok(soap::send_response(relates))
}

/// Give fragments to the shell and run every pipeline they complete.
fn feed(
    state: &MockState,
    slot: &ShellSlot,
    target: &Target,
    data: &[u8],
    relates: &str,
) -> Result<(), SoapReply> {
    let runs = slot
        .lock()
        .receive_fragments(target, data)
        .map_err(|ClientError(e)| {
            sender_fault(
                relates,
                "w:InvalidParameter",
                FAULT_BAD_PSRP,
                &format!("PSRP: {e}"),
            )
        })?;
    for run in runs {
        let (user, tenant, shell_id) = {
            let s = slot.lock();
            (s.owner.clone(), s.tenant.clone(), s.id.clone())
        };
        let caller = Caller {
            user: &user,
            protocol: Protocol::Winrm,
            tenant: tenant.as_deref(),
            shell_id: Some(&shell_id),
            command_id: Some(&run.command_id),
        };
        match pipeline::run(state, &caller, &run.pipeline) {
            Ok(outputs) => slot.lock().complete(&run.command_id, run.pid, &outputs),
            Err(e) => {
                slot.lock().remove_command(&run.command_id);
                return Err(sender_fault(
                    relates,
                    "w:InvalidParameter",
                    FAULT_BAD_PSRP,
                    &e,
                ));
            }
        }
    }
    Ok(())
}

async fn receive(
    state: &MockState,
    slot: &ShellSlot,
    command_id: Option<String>,
    relates: &str,
) -> SoapReply {
    let command_id = command_id.map(|c| c.to_uppercase());
    let target = command_id.clone().map_or(Target::Pool, Target::Command);
    let deadline = tokio::time::Instant::now() + state.receive_wait;
    loop {
        let notified = slot.output().notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        {
            let mut shell = slot.lock();
            if let Target::Command(id) = &target {
                if !shell.has_command(id) {
                    let msg = format!("The command {id} does not exist on this shell.");
                    return sender_fault(
                        relates,
                        "w:InvalidSelectors",
                        soap::FAULT_NO_SUCH_SHELL,
                        &msg,
                    );
                }
            }
            if let Some((frags, done)) = shell.take_output(&target) {
                let b64: Vec<String> = frags
                    .iter()
                    .map(|f| base64::engine::general_purpose::STANDARD.encode(f))
                    .collect();
                let streams: Vec<OutStream<'_>> = b64
                    .iter()
                    .map(|b| OutStream {
                        name: "stdout",
                        command_id: command_id.as_deref(),
                        base64: b,
                    })
                    .collect();
                let st = if done {
                    CommandState::Done
                } else {
                    CommandState::Running
                };
                let state_arg = command_id.as_deref().map(|id| (id, st));
                return ok(soap::receive_response(relates, &streams, state_arg));
            }
        }
        if tokio::time::timeout_at(deadline, notified).await.is_err() {
            return SoapReply {
                status: 500,
                body: soap::operation_timeout_fault(relates, MACHINE),
            };
        }
    }
}

/// End a command (any code: the mock runs nothing that could be stopped midway). A command
/// ended before it ran (its pipeline incomplete, or waiting for input) is logged, so a test can
/// prove a half-built pipeline was cleaned up and never started.
fn signal(
    state: &MockState,
    slot: &ShellSlot,
    command_id: Option<&str>,
    code: &str,
    relates: &str,
) -> SoapReply {
    let id = command_id.map(str::to_uppercase).unwrap_or_default();
    let (ended, user, tenant, shell_id) = {
        let mut s = slot.lock();
        let ended = s.end_command(&id);
        (ended, s.owner.clone(), s.tenant.clone(), s.id.clone())
    };
    let Some(stage) = ended else {
        let msg = format!("The command {id} does not exist on this shell.");
        return sender_fault(
            relates,
            "w:InvalidSelectors",
            soap::FAULT_NO_SUCH_SHELL,
            &msg,
        );
    };
    if stage != CommandStage::Ran {
        let caller = Caller {
            user: &user,
            protocol: Protocol::Winrm,
            tenant: tenant.as_deref(),
            shell_id: Some(&shell_id),
            command_id: Some(&id),
        };
        if let Err(e) = state.note(&echo::signalled(&caller, code, stage.as_str())) {
            tracing::warn!(error = %e, "mock could not log a Signal");
        }
    }
    ok(soap::signal_response(relates))
}

fn new_id() -> String {
    uuid::Uuid::new_v4().hyphenated().to_string().to_uppercase()
}

/// `DelegatedOrg=<tenant>` from the query string: the tenant of a WinRM session.
fn delegated_org(query: Option<&str>) -> Option<String> {
    query?
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| k.eq_ignore_ascii_case("DelegatedOrg"))
        .map(|(_, v)| v.to_owned())
}

#[cfg(test)]
mod tests;
