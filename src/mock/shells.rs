//! The mock's RunspacePools ("shells") and pipelines ("commands"): what each client sent so far
//! and the server messages waiting for its next Receive.
//!
//! Sans-I/O: [`Shell`] takes decoded fragments in and queues fragments out; `winrm` does the
//! HTTP, the long-poll and the SOAP.

use super::pipeline;
use crate::config::InspectLimits;
use crate::inspect::pipeline::{parse_create_pipeline, ParsedPipeline};
use crate::psrp::fragment::{self, Fragment};
use crate::psrp::message::{Message, MessageType};
use crate::psrp::write;
use std::collections::{HashMap, VecDeque};
use uuid::Uuid;

/// Largest PSRP blob the mock puts in one fragment; PowerShell's default fragment size.
pub const OUT_FRAGMENT_BLOB: usize = 32 * 1024;
/// Bytes of PSRP fragments per ReceiveResponse, chosen so the base64 stays under the smallest
/// MaxEnvelopeSize clients announce (150 KiB); the rest waits for the next Receive.
pub const MAX_RECEIVE_BYTES: usize = 96 * 1024;
/// Largest message the mock reassembles from a client; bigger is refused with a fault.
pub const MAX_IN_MESSAGE_BYTES: usize = 64 * 1024 * 1024;
/// Incomplete messages one shell may hold.
pub const MAX_PENDING_MESSAGES: usize = 64;

/// Where a message goes: the pool, or one pipeline.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    Pool,
    Command(String),
}

/// A pipeline and its output queue.
#[derive(Debug, Default)]
pub struct Cmd {
    /// Fragments not yet sent to the client.
    out: VecDeque<Vec<u8>>,
    /// Set once PIPELINE_STATE is queued: CommandState is Done when `out` drains.
    finished: bool,
    /// The pipeline's CREATE_PIPELINE arrived but waits for END_OF_PIPELINE_INPUT.
    waiting_input: Option<Run>,
}

/// One RunspacePool.
#[derive(Debug)]
pub struct Shell {
    pub id: String,
    /// The user who created it; nobody else may use it.
    pub owner: String,
    pub tenant: Option<String>,
    /// The client's RunspacePool id, echoed in server messages.
    rpid: Uuid,
    pool_out: VecDeque<Vec<u8>>,
    commands: HashMap<String, Cmd>,
    /// Incomplete incoming messages by (target, ObjectId).
    pending: HashMap<(Target, u64), Vec<u8>>,
    next_object_id: u64,
}

/// How far a command had got when a Signal ended it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandStage {
    /// Nothing of its pipeline had arrived.
    Empty,
    /// Some fragments of its pipeline had arrived, not the last.
    Incomplete,
    /// Its pipeline was complete and waited for END_OF_PIPELINE_INPUT.
    WaitingInput,
    /// Its pipeline had run.
    Ran,
}

impl CommandStage {
    pub fn as_str(self) -> &'static str {
        match self {
            CommandStage::Empty => "empty",
            CommandStage::Incomplete => "incomplete",
            CommandStage::WaitingInput => "waiting_input",
            CommandStage::Ran => "ran",
        }
    }
}

/// A protocol error from the client, answered with a fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ClientError(pub String);

/// A pipeline ready to run: every command it holds, as the gateway's inspector reads them.
#[derive(Debug)]
pub struct Run {
    pub command_id: String,
    /// The pipeline id from the message header, echoed in the replies.
    pub pid: Uuid,
    pub pipeline: ParsedPipeline,
}

impl Shell {
    pub fn new(id: String, owner: String, tenant: Option<String>) -> Shell {
        Shell {
            id,
            owner,
            tenant,
            rpid: Uuid::nil(),
            pool_out: VecDeque::new(),
            commands: HashMap::new(),
            pending: HashMap::new(),
            next_object_id: 1,
        }
    }

    pub fn add_command(&mut self, id: &str) {
        self.commands.entry(id.to_owned()).or_default();
    }

    pub fn has_command(&self, id: &str) -> bool {
        self.commands.contains_key(id)
    }

    /// End a command (a Signal): drop it with any fragments of it still being reassembled, and
    /// say how far it had got. `None` when there is no such command.
    pub fn end_command(&mut self, id: &str) -> Option<CommandStage> {
        let target = Target::Command(id.to_owned());
        let stage = match self.commands.get(id)? {
            c if c.finished => CommandStage::Ran,
            c if c.waiting_input.is_some() => CommandStage::WaitingInput,
            _ if self.pending.keys().any(|(t, _)| *t == target) => CommandStage::Incomplete,
            _ => CommandStage::Empty,
        };
        self.remove_command(id);
        Some(stage)
    }

    pub fn remove_command(&mut self, id: &str) -> bool {
        self.pending
            .retain(|(t, _), _| *t != Target::Command(id.to_owned()));
        self.commands.remove(id).is_some()
    }

    /// Feed decoded fragments for `target`; returns the pipelines that became ready to run.
    pub fn receive_fragments(
        &mut self,
        target: &Target,
        data: &[u8],
    ) -> Result<Vec<Run>, ClientError> {
        let mut runs = Vec::new();
        for frag in fragment::fragments(data) {
            let frag = frag.map_err(|e| ClientError(e.to_string()))?;
            if let Some(message) = self.reassemble(target, &frag)? {
                if let Some(run) = self.on_message(target, &message)? {
                    runs.push(run);
                }
            }
        }
        Ok(runs)
    }

    fn reassemble(
        &mut self,
        target: &Target,
        f: &Fragment<'_>,
    ) -> Result<Option<Vec<u8>>, ClientError> {
        let key = (target.clone(), f.object_id);
        if f.start && f.end {
            self.pending.remove(&key);
            return Ok(Some(f.blob.to_vec()));
        }
        if f.start {
            if self.pending.len() >= MAX_PENDING_MESSAGES {
                return Err(ClientError(format!(
                    "more than {MAX_PENDING_MESSAGES} incomplete PSRP messages on shell {}",
                    self.id
                )));
            }
            self.pending.insert(key, f.blob.to_vec());
            return Ok(None);
        }
        let buf = self.pending.get_mut(&key).ok_or_else(|| {
            ClientError(format!(
                "fragment {} of object {} arrived without its start fragment",
                f.fragment_id, f.object_id
            ))
        })?;
        if buf.len() + f.blob.len() > MAX_IN_MESSAGE_BYTES {
            self.pending.remove(&key);
            return Err(ClientError(format!(
                "PSRP message over the mock's limit of {MAX_IN_MESSAGE_BYTES} bytes"
            )));
        }
        buf.extend_from_slice(f.blob);
        if f.end {
            return Ok(self.pending.remove(&key));
        }
        Ok(None)
    }

    fn on_message(&mut self, target: &Target, bytes: &[u8]) -> Result<Option<Run>, ClientError> {
        let msg = Message::parse(bytes).map_err(|e| ClientError(e.to_string()))?;
        match (target, msg.message_type) {
            (Target::Pool, MessageType::SessionCapability) => {}
            (Target::Pool, MessageType::InitRunspacePool) => self.open_pool(msg.rpid),
            (Target::Pool, MessageType::SetMaxRunspaces | MessageType::SetMinRunspaces) => {
                let ci = pipeline::call_id(msg.data);
                self.queue_pool(
                    MessageType::RunspaceAvailability,
                    &write::runspace_availability(ci, write::Availability::Accepted(true)),
                );
            }
            (Target::Pool, MessageType::GetAvailableRunspaces) => {
                let ci = pipeline::call_id(msg.data);
                self.queue_pool(
                    MessageType::RunspaceAvailability,
                    &write::runspace_availability(ci, write::Availability::Count(1)),
                );
            }
            (Target::Command(id), MessageType::GetCommandMetadata) => {
                self.finish_metadata(id, msg.pid);
            }
            (Target::Command(id), MessageType::CreatePipeline) => {
                let pipeline = parse_create_pipeline(msg.data, &InspectLimits::default())
                    .map_err(|e| ClientError(format!("CREATE_PIPELINE: {e}")))?;
                let cmd = self
                    .commands
                    .get_mut(id)
                    .ok_or_else(|| ClientError(format!("no command {id}")))?;
                let run = Run {
                    command_id: id.clone(),
                    pid: msg.pid,
                    pipeline,
                };
                if run.pipeline.no_input {
                    return Ok(Some(run));
                }
                cmd.waiting_input = Some(run);
            }
            (Target::Command(id), MessageType::EndOfPipelineInput) => {
                return Ok(self
                    .commands
                    .get_mut(id)
                    .and_then(|c| c.waiting_input.take()));
            }
            (_, other) => {
                tracing::debug!(shell = %self.id, message = ?other, "mock ignores this message")
            }
        }
        Ok(None)
    }

    fn open_pool(&mut self, rpid: Uuid) {
        self.rpid = rpid;
        // Windows sends SESSION_CAPABILITY with a nil RPID and the rest with the pool's.
        self.queue(
            Target::Pool,
            MessageType::SessionCapability,
            Uuid::nil(),
            Uuid::nil(),
            &write::session_capability(),
        );
        self.queue_pool(
            MessageType::ApplicationPrivateData,
            &write::application_private_data(),
        );
        self.queue_pool(
            MessageType::RunspacePoolState,
            &write::runspacepool_state(write::RUNSPACEPOOL_OPENED),
        );
    }

    fn finish_metadata(&mut self, id: &str, pid: Uuid) {
        let target = Target::Command(id.to_owned());
        self.queue(
            target.clone(),
            MessageType::PipelineOutput,
            self.rpid,
            pid,
            &write::command_metadata_count(0),
        );
        self.finish(id, pid);
    }

    /// Queue one output object per executed command, then PIPELINE_STATE Completed.
    pub fn complete(&mut self, id: &str, pid: Uuid, outputs: &[String]) {
        let target = Target::Command(id.to_owned());
        for clixml in outputs {
            self.queue(
                target.clone(),
                MessageType::PipelineOutput,
                self.rpid,
                pid,
                clixml,
            );
        }
        self.finish(id, pid);
    }

    fn finish(&mut self, id: &str, pid: Uuid) {
        let target = Target::Command(id.to_owned());
        let state = write::pipeline_state(write::PIPELINE_COMPLETED);
        self.queue(target, MessageType::PipelineState, self.rpid, pid, &state);
        if let Some(cmd) = self.commands.get_mut(id) {
            cmd.finished = true;
        }
    }

    fn queue_pool(&mut self, t: MessageType, clixml: &str) {
        self.queue(Target::Pool, t, self.rpid, Uuid::nil(), clixml);
    }

    fn queue(&mut self, target: Target, t: MessageType, rpid: Uuid, pid: Uuid, clixml: &str) {
        let message = write::server_message(t, rpid, pid, clixml);
        let object_id = self.next_object_id;
        self.next_object_id += 1;
        let frags = fragment::split_message(object_id, &message, OUT_FRAGMENT_BLOB);
        let queue = match &target {
            Target::Pool => &mut self.pool_out,
            Target::Command(id) => match self.commands.get_mut(id) {
                Some(c) => &mut c.out,
                None => return,
            },
        };
        for f in frags {
            let mut bytes = Vec::with_capacity(fragment::FRAGMENT_HEADER_LEN + f.blob.len());
            f.encode(&mut bytes);
            queue.push_back(bytes);
        }
    }

    /// Take up to [`MAX_RECEIVE_BYTES`] of queued fragments for `target` (at least one), and
    /// whether the command is now done. `None` when there is nothing to send yet.
    pub fn take_output(&mut self, target: &Target) -> Option<(Vec<Vec<u8>>, bool)> {
        let (queue, finished) = match target {
            Target::Pool => (&mut self.pool_out, false),
            Target::Command(id) => {
                let c = self.commands.get_mut(id)?;
                (&mut c.out, c.finished)
            }
        };
        if queue.is_empty() {
            return None;
        }
        let mut taken = Vec::new();
        let mut size = 0;
        while let Some(next) = queue.front() {
            if !taken.is_empty() && size + next.len() > MAX_RECEIVE_BYTES {
                break;
            }
            size += next.len();
            taken.extend(queue.pop_front());
        }
        let done = finished && queue.is_empty();
        Some((taken, done))
    }
}

#[cfg(test)]
mod tests;
