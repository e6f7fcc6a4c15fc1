//! WinRM requests into invocations: envelope, shell state, then PSRP messages.
//!
//! [`WinrmInspector::inspect`] parses the envelope, applies it to the shell state under a short
//! lock (reassembly only), then parses the completed messages outside the lock.

use crate::clock::Millis;
use crate::config::InspectLimits;
use crate::inspect::error::{InspectError, Layer};
use crate::inspect::pipeline::{self, ParsedPipeline, PipelineInput};
use crate::inspect::reassembly::Target;
use crate::inspect::session::{Completed, WinrmSessions};
use crate::inspect::xml::XmlLimits;
use crate::invocation::{Invocation, Protocol};
use crate::psrp::message::{Destination, Message, MessageType};
use crate::wsman::{self, Action};
use std::sync::Mutex;

/// The result of inspecting one WinRM request.
#[derive(Debug, Clone, PartialEq)]
pub struct WinrmInspection {
    pub action: Action,
    /// Upper-case ShellId: the selector, or the ShellId a Create proposes.
    pub shell_id: Option<String>,
    /// Upper-case CommandId the request names (Command, Send, Receive, Signal).
    pub command_id: Option<String>,
    /// `wsa:MessageID`, for `RelatesTo` in a refusal.
    pub message_id: Option<String>,
    pub outcome: WinrmOutcome,
    /// PIPELINE_INPUT messages this request completed.
    pub input: Vec<PipelineInput>,
    /// The client's session headers, for a Signal the gateway sends on the client's behalf.
    /// Boxed: rarely used, and it would make every inspection result larger.
    pub session: Box<wsman::SessionHeaders>,
}

/// Whether a request completes a pipeline to decide on.
#[derive(Debug, Clone, PartialEq)]
pub enum WinrmOutcome {
    /// A complete CREATE_PIPELINE or GET_COMMAND_METADATA: decide before forwarding.
    Invocation(Invocation),
    /// Nothing to decide: Create, Receive, Signal, Delete, pool-level Sends, or a pipeline whose
    /// last fragment has not arrived yet.
    NoInvocation,
}

impl WinrmInspection {
    /// A Create: the gateway binds the shell to its creator.
    pub fn is_create(&self) -> bool {
        self.action == Action::Create
    }

    /// The complete pipeline, if this request completed one.
    pub fn invocation(&self) -> Option<&Invocation> {
        match &self.outcome {
            WinrmOutcome::Invocation(i) => Some(i),
            WinrmOutcome::NoInvocation => None,
        }
    }

    /// Whether this request completes a pipeline.
    pub fn completes_pipeline(&self) -> bool {
        self.invocation().is_some()
    }

    /// Whether any pipeline input in this request carries a script block.
    pub fn input_has_script_block(&self) -> bool {
        self.input.iter().any(|i| i.has_script_block)
    }
}

/// WinRM inspection with its shell state; share it (`Arc`) across connections.
#[derive(Debug)]
pub struct WinrmInspector {
    limits: InspectLimits,
    sessions: Mutex<WinrmSessions>,
}

impl WinrmInspector {
    pub fn new(limits: InspectLimits) -> Self {
        WinrmInspector {
            sessions: Mutex::new(WinrmSessions::new(limits.clone())),
            limits,
        }
    }

    /// Inspect one request body from `principal`; `tenant` is the `DelegatedOrg`, if any.
    pub fn inspect(
        &self,
        body: &[u8],
        principal: &str,
        tenant: Option<&str>,
        now: Millis,
    ) -> Result<WinrmInspection, InspectError> {
        let xml_limits = XmlLimits {
            max_depth: self.limits.max_xml_depth,
            max_attributes: self.limits.max_xml_attributes,
        };
        let env = wsman::parse_request(body, &xml_limits)?;
        let applied = {
            let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
            sessions.apply(&env, principal, now)?
        };
        let session = Box::new(wsman::SessionHeaders::of(&env));
        let mut inspection = WinrmInspection {
            action: env.action,
            shell_id: applied.shell_id,
            command_id: applied.command_id,
            message_id: env.message_id,
            outcome: WinrmOutcome::NoInvocation,
            input: Vec::new(),
            session,
        };
        for completed in &applied.completed {
            self.message(completed, principal, tenant, &mut inspection)?;
        }
        Ok(inspection)
    }

    /// The principal that created a shell, if it is tracked.
    pub fn shell_owner(&self, shell_id: &str) -> Option<String> {
        let sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        sessions.owner(shell_id).map(str::to_owned)
    }

    /// Interpret one completed message.
    fn message(
        &self,
        completed: &Completed,
        principal: &str,
        tenant: Option<&str>,
        out: &mut WinrmInspection,
    ) -> Result<(), InspectError> {
        let msg = Message::parse(&completed.bytes)?;
        if msg.destination != Destination::Server {
            return Err(InspectError::malformed(
                Layer::Message,
                "Destination",
                format!(
                    "{:?} in a request; client messages go to the server (2)",
                    msg.destination
                ),
            ));
        }
        let parsed = match msg.message_type {
            MessageType::CreatePipeline => pipeline::parse_create_pipeline(msg.data, &self.limits)?,
            MessageType::GetCommandMetadata => {
                pipeline::parse_get_command_metadata(msg.data, &self.limits)?
            }
            MessageType::PipelineInput => {
                out.input
                    .push(pipeline::parse_pipeline_input(msg.data, &self.limits)?);
                return Ok(());
            }
            t if is_harmless_client_message(t) => return Ok(()),
            t => {
                return Err(InspectError::unsupported(
                    Layer::Message,
                    "MessageType",
                    format!(
                        "{t:?} (0x{:08X}) is not a client-to-server message this gateway allows",
                        t.to_u32()
                    ),
                ))
            }
        };
        if out.completes_pipeline() {
            return Err(InspectError::malformed(
                Layer::Message,
                "MessageType",
                "two pipelines completed in one request; refusing to decide on one",
            ));
        }
        let command_id = match &completed.target {
            Target::Pipeline(id) => id.clone(),
            Target::Pool => msg.pid.to_string().to_ascii_uppercase(),
        };
        out.outcome = WinrmOutcome::Invocation(invocation(
            parsed,
            principal,
            tenant,
            &out.shell_id,
            command_id,
        ));
        Ok(())
    }
}

/// Client-to-server messages that start nothing: session setup, key exchange, pool sizing,
/// host responses and the end of input.
fn is_harmless_client_message(t: MessageType) -> bool {
    use MessageType::*;
    matches!(
        t,
        SessionCapability
            | InitRunspacePool
            | PublicKey
            | ConnectRunspacePool
            | SetMaxRunspaces
            | SetMinRunspaces
            | GetAvailableRunspaces
            | ResetRunspaceState
            | RunspacePoolHostResponse
            | EndOfPipelineInput
            | PipelineHostResponse
    )
}

fn invocation(
    parsed: ParsedPipeline,
    principal: &str,
    tenant: Option<&str>,
    shell_id: &Option<String>,
    command_id: String,
) -> Invocation {
    Invocation {
        principal: principal.to_lowercase(),
        protocol: Protocol::Winrm,
        tenant: tenant.map(str::to_owned),
        shell_id: shell_id.clone(),
        command_id: Some(command_id),
        statements: parsed.statements,
    }
}
