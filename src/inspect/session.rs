//! Per-shell state of WinRM inspection: who opened the shell, whether its streams are
//! compressed, and the fragments of incomplete messages.
//!
//! [`WinrmSessions`] takes `&mut self`; the caller holds it behind its own lock (the
//! [`crate::inspect::Inspector`] uses a `Mutex` and keeps CLIXML parsing outside it).

use crate::clock::Millis;
use crate::config::InspectLimits;
use crate::inspect::error::{InspectError, Layer};
use crate::inspect::reassembly::{Reassembly, ReassemblyLimits, Target};
use crate::psrp::{fragment, xpress};
use crate::wsman::{Action, Body, Envelope};
use std::borrow::Cow;
use std::collections::HashMap;

/// One shell (RunspacePool) seen through a Create.
#[derive(Debug)]
struct Shell {
    /// The principal that created it; other principals may not use it.
    owner: String,
    /// `CompressionType xpress` was negotiated: Send streams are block-framed.
    xpress: bool,
    reassembly: Reassembly,
}

/// A message completed by a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completed {
    pub target: Target,
    pub bytes: Vec<u8>,
}

/// What applying one request to the shell state gave.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Applied {
    /// Upper-case ShellId (the selector, or the Create's `ShellId` attribute).
    pub shell_id: Option<String>,
    /// Upper-case CommandId of a Command, or of a Send/Receive/Signal naming one.
    pub command_id: Option<String>,
    /// Messages this request completed, in order.
    pub completed: Vec<Completed>,
}

/// The shells being inspected.
#[derive(Debug)]
pub struct WinrmSessions {
    limits: InspectLimits,
    shells: HashMap<String, Shell>,
}

impl WinrmSessions {
    pub fn new(limits: InspectLimits) -> Self {
        WinrmSessions {
            limits,
            shells: HashMap::new(),
        }
    }

    /// Number of shells tracked (bounded by `inspect.max_shells`).
    pub fn shell_count(&self) -> usize {
        self.shells.len()
    }

    /// The principal that created a shell.
    pub fn owner(&self, shell_id: &str) -> Option<&str> {
        self.shells
            .get(&shell_id.to_ascii_uppercase())
            .map(|s| s.owner.as_str())
    }

    /// Apply one parsed request: track Create/Delete, feed fragments, return completed messages.
    pub fn apply(
        &mut self,
        env: &Envelope,
        principal: &str,
        now: Millis,
    ) -> Result<Applied, InspectError> {
        let mut applied = Applied {
            shell_id: env.shell_id.as_deref().map(upper),
            ..Applied::default()
        };
        if let Some(id) = &applied.shell_id {
            if self.shells.contains_key(id) {
                self.owned_shell(&applied, principal)?;
            }
        }
        match (&env.action, &env.body) {
            (
                Action::Create,
                Body::Create {
                    shell_id,
                    creation_xml,
                },
            ) => {
                let id = shell_id.as_deref().map(upper).ok_or_else(|| {
                    InspectError::malformed(
                        Layer::Envelope,
                        "Shell@ShellId",
                        "Create without a ShellId attribute cannot be tracked",
                    )
                })?;
                applied.shell_id = Some(id.clone());
                self.create(&id, env, principal)?;
                let data = creation_xml.as_deref().unwrap_or(&[]);
                let result = self.feed(&id, &Target::Pool, data, false, now, &mut applied);
                if result.is_err() {
                    self.shells.remove(&id);
                }
                result?;
            }
            (
                Action::Command,
                Body::Command {
                    command_id,
                    arguments,
                },
            ) => {
                let id = self.owned_shell(&applied, principal)?;
                let cmd = command_id.as_deref().map(upper).ok_or_else(|| {
                    InspectError::malformed(Layer::Envelope, "CommandLine@CommandId", "missing")
                })?;
                applied.command_id = Some(cmd.clone());
                let data = arguments.as_deref().ok_or_else(|| {
                    InspectError::malformed(
                        Layer::Envelope,
                        "CommandLine/Arguments",
                        "missing: a PowerShell Command carries its pipeline there",
                    )
                })?;
                self.feed(&id, &Target::Pipeline(cmd), data, false, now, &mut applied)?;
            }
            (Action::Send, Body::Send { streams }) => {
                let id = self.owned_shell(&applied, principal)?;
                for s in streams {
                    let cmd = s.command_id.as_deref().map(upper);
                    let target = cmd.clone().map_or(Target::Pool, Target::Pipeline);
                    if cmd.is_some() {
                        applied.command_id = cmd;
                    }
                    self.feed(&id, &target, &s.data, true, now, &mut applied)?;
                }
            }
            (Action::Signal, Body::Signal { command_id, .. }) => {
                applied.command_id = command_id.as_deref().map(upper);
                if let (Some(id), Some(cmd)) = (&applied.shell_id, &applied.command_id) {
                    if let Some(shell) = self.shells.get_mut(id) {
                        shell.reassembly.drop_target(&Target::Pipeline(cmd.clone()));
                    }
                }
            }
            (Action::Receive, Body::Receive { streams }) => {
                applied.command_id = streams
                    .iter()
                    .find_map(|s| s.command_id.as_deref())
                    .map(upper);
            }
            (Action::Delete, _) => {
                if let Some(id) = &applied.shell_id {
                    if self.owner(id).is_some() {
                        self.owned_shell(&applied, principal)?;
                        self.shells.remove(id);
                    }
                }
            }
            (Action::Other(uri), _) => {
                return Err(InspectError::unsupported(
                    Layer::Envelope,
                    "Action",
                    format!("unknown action {uri}"),
                ))
            }
            _ => {}
        }
        Ok(applied)
    }

    fn create(&mut self, id: &str, env: &Envelope, principal: &str) -> Result<(), InspectError> {
        if self.shells.contains_key(id) {
            return Err(InspectError::malformed(
                Layer::Envelope,
                "Shell@ShellId",
                format!("shell {id} already exists"),
            ));
        }
        if self.shells.len() >= self.limits.max_shells {
            return Err(InspectError::limit(
                Layer::Envelope,
                "max_shells",
                self.limits.max_shells,
                "too many open shells; close some (Remove-PSSession)",
            ));
        }
        let xpress = match env.compression.as_deref() {
            None | Some("") => false,
            Some(c) if c.eq_ignore_ascii_case("xpress") => true,
            Some(other) => {
                return Err(InspectError::unsupported(
                    Layer::Compression,
                    "CompressionType",
                    format!("{other:?}; only xpress is known"),
                ))
            }
        };
        self.shells.insert(
            id.to_owned(),
            Shell {
                owner: principal.to_owned(),
                xpress,
                reassembly: Reassembly::default(),
            },
        );
        Ok(())
    }

    /// The request's shell, which must exist and belong to `principal`.
    fn owned_shell(&self, applied: &Applied, principal: &str) -> Result<String, InspectError> {
        let id = applied.shell_id.clone().ok_or_else(|| {
            InspectError::malformed(Layer::Envelope, "Selector[@Name=ShellId]", "missing")
        })?;
        let shell = self.shells.get(&id).ok_or_else(|| {
            InspectError::malformed(
                Layer::Envelope,
                "Selector[@Name=ShellId]",
                format!("shell {id} was not opened through this gateway; open a new session"),
            )
        })?;
        if !shell.owner.eq_ignore_ascii_case(principal) {
            return Err(InspectError::malformed(
                Layer::Identity,
                "ShellId",
                format!("shell {id} belongs to another principal"),
            ));
        }
        Ok(id)
    }

    /// Decode one payload (xpress if negotiated) and feed its fragments.
    fn feed(
        &mut self,
        id: &str,
        target: &Target,
        data: &[u8],
        is_stream: bool,
        now: Millis,
        applied: &mut Applied,
    ) -> Result<(), InspectError> {
        let limits = ReassemblyLimits::from_config(&self.limits);
        let Some(shell) = self.shells.get_mut(id) else {
            return Err(InspectError::malformed(
                Layer::Envelope,
                "ShellId",
                "unknown shell",
            ));
        };
        let data = decompress(data, shell.xpress, is_stream, limits.max_message_bytes)?;
        for f in fragment::fragments(&data) {
            if let Some(bytes) = shell.reassembly.push(target, &f?, now, &limits)? {
                applied.completed.push(Completed {
                    target: target.clone(),
                    bytes,
                });
            }
        }
        Ok(())
    }
}

/// Undo xpress framing. Send streams of a compressing shell are always framed; for
/// `creationXml` and `Arguments` MS-WSMV does not say, so either form is accepted, and data
/// that reads both ways is refused rather than guessed.
fn decompress(
    data: &[u8],
    xpress_on: bool,
    is_stream: bool,
    max: usize,
) -> Result<Cow<'_, [u8]>, InspectError> {
    if !xpress_on {
        return Ok(Cow::Borrowed(data));
    }
    let framed = xpress::framing(data) == xpress::Framing::Blocks;
    if !is_stream && !framed {
        return Ok(Cow::Borrowed(data));
    }
    if !is_stream && fragment::fragments(data).all(|f| f.is_ok()) {
        return Err(InspectError::malformed(
            Layer::Compression,
            "payload",
            "reads both as compression blocks and as PSRP fragments; refusing to guess",
        ));
    }
    let mut out = Vec::with_capacity(data.len());
    xpress::decode(data, &mut out, max)?;
    Ok(Cow::Owned(out))
}

fn upper(s: &str) -> String {
    s.trim().to_ascii_uppercase()
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;
