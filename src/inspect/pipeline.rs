//! CREATE_PIPELINE, GET_COMMAND_METADATA and PIPELINE_INPUT into normalised commands
//! (protocol.md §4).
//!
//! Statements come from `Cmds` and from every entry of `ExtraCmds`; when `ExtraCmds` is present
//! the server runs it, and `Cmds` is evaluated too whenever it differs from `ExtraCmds[0]` (a
//! hostile client could make them differ). Arguments are normalised per §4.4:
//!
//! | wire `N`            | wire `V` | result                                         |
//! |---------------------|----------|------------------------------------------------|
//! | Nil                 | v        | positional `v`                                 |
//! | `Name`              | v or Nil | `Name = v` (Nil gives `null`: for a switch, present) |
//! | `-Name:`            | v or Nil | `Name = v`                                     |
//! | `-Name`             | v        | `Name = v`                                     |
//! | `-Name`             | Nil      | bare `Name = true` (a switch, or the next positional is its value) |

use crate::config::InspectLimits;
use crate::inspect::error::{InspectError, Layer};
use crate::inspect::values::ToJson;
use crate::invocation::{Command, Param, Value as Json};
use crate::psrp::clixml::{self, ClixmlLimits, Obj, Value};

const L: Layer = Layer::Pipeline;

/// What a pipeline-creating message asks the server to run.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedPipeline {
    /// Statements in the order they are evaluated; each is a pipeline of commands.
    pub statements: Vec<Vec<Command>>,
    /// `NoInput`: `false` means PIPELINE_INPUT may follow (absent is taken as `false`).
    pub no_input: bool,
}

/// Objects sent into a pipeline (PIPELINE_INPUT).
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineInput {
    pub value: Json,
    /// Whether a script block appears anywhere in the input.
    pub has_script_block: bool,
}

/// Parse the CLIXML data of a CREATE_PIPELINE message.
pub fn parse_create_pipeline(
    data: &[u8],
    limits: &InspectLimits,
) -> Result<ParsedPipeline, InspectError> {
    let root = clixml::parse(data, &ClixmlLimits::from_config(limits))?;
    let root = expect_obj(&root, "CREATE_PIPELINE")?;
    let no_input = matches!(root.member("NoInput"), Some(Value::Bool(true)));
    let ps = expect_obj(member(root, "PowerShell")?, "PowerShell")?;
    let mut walk = Walk {
        json: ToJson::new(limits.max_clixml_objects),
        commands: 0,
        max_commands: limits.max_commands,
    };
    let cmds = statement(member(ps, "Cmds")?, &mut walk, "Cmds")?;
    let mut statements = Vec::new();
    let extra = match ps.member("ExtraCmds") {
        None | Some(Value::Nil) => Vec::new(),
        Some(v) => extra_statements(v, &mut walk)?,
    };
    if extra.first() != Some(&cmds) {
        statements.push(cmds);
    }
    statements.extend(extra);
    Ok(ParsedPipeline {
        statements,
        no_input,
    })
}

/// Parse GET_COMMAND_METADATA: the server runs `Get-Command` with these arguments, so it is
/// reported as one `Get-Command` command with `Name`, `CommandType`, `Namespace` and
/// `ArgumentList` parameters (those present and not Nil).
pub fn parse_get_command_metadata(
    data: &[u8],
    limits: &InspectLimits,
) -> Result<ParsedPipeline, InspectError> {
    let root = clixml::parse(data, &ClixmlLimits::from_config(limits))?;
    let root = expect_obj(&root, "GET_COMMAND_METADATA")?;
    let mut json = ToJson::new(limits.max_clixml_objects);
    let mut params = Vec::new();
    for name in ["Name", "CommandType", "Namespace", "ArgumentList"] {
        match root.member(name) {
            None | Some(Value::Nil) => {}
            Some(v) => params.push(Param {
                name: name.to_owned(),
                value: json.convert(v)?,
                bare: false,
            }),
        }
    }
    let has_script_block = root.has_script_block();
    let command = Command {
        name: "Get-Command".to_owned(),
        module: None,
        params,
        positional: Vec::new(),
        is_script: false,
        has_script_block,
    };
    Ok(ParsedPipeline {
        statements: vec![vec![command]],
        no_input: true,
    })
}

/// Parse PIPELINE_INPUT data (one serialized object).
pub fn parse_pipeline_input(
    data: &[u8],
    limits: &InspectLimits,
) -> Result<PipelineInput, InspectError> {
    let v = clixml::parse(data, &ClixmlLimits::from_config(limits))?;
    let value = ToJson::new(limits.max_clixml_objects).convert(&v)?;
    Ok(PipelineInput {
        value,
        has_script_block: v.has_script_block(),
    })
}

/// Conversion state: the JSON node budget and the command count, both checked as commands are
/// built, so a `<Ref>` graph repeating statements cannot make the walk itself unbounded.
struct Walk {
    json: ToJson,
    /// Commands built so far (`Cmds` counts even when it repeats `ExtraCmds[0]`).
    commands: usize,
    max_commands: usize,
}

impl Walk {
    fn count(&mut self, n: usize) -> Result<(), InspectError> {
        self.commands = self.commands.saturating_add(n);
        if self.commands > self.max_commands {
            return Err(InspectError::limit(
                L,
                "max_commands",
                self.max_commands,
                format!("{} commands in one pipeline", self.commands),
            ));
        }
        Ok(())
    }
}

/// `ExtraCmds`: a list of objects each holding a `Cmds` list (one per statement).
fn extra_statements(v: &Value, walk: &mut Walk) -> Result<Vec<Vec<Command>>, InspectError> {
    let list = list_of(v, "ExtraCmds")?;
    let mut out = Vec::with_capacity(list.len());
    for (i, entry) in list.iter().enumerate() {
        let field = format!("ExtraCmds[{i}]");
        let entry = expect_obj(entry, &field)?;
        out.push(statement(member(entry, "Cmds")?, walk, &field)?);
    }
    Ok(out)
}

/// One statement: a non-empty list of Command objects.
fn statement(v: &Value, walk: &mut Walk, field: &str) -> Result<Vec<Command>, InspectError> {
    let list = list_of(v, field)?;
    if list.is_empty() {
        return Err(InspectError::malformed(
            L,
            field,
            "a statement with no commands",
        ));
    }
    walk.count(list.len())?;
    list.iter()
        .enumerate()
        .map(|(i, c)| command(c, &mut walk.json, &format!("{field}[{i}]")))
        .collect()
}

fn command(v: &Value, json: &mut ToJson, field: &str) -> Result<Command, InspectError> {
    let obj = expect_obj(v, field)?;
    let Value::Str(cmd) = member(obj, "Cmd")? else {
        return Err(InspectError::malformed(
            L,
            format!("{field}.Cmd"),
            "not a string",
        ));
    };
    let Value::Bool(is_script) = member(obj, "IsScript")? else {
        return Err(InspectError::malformed(
            L,
            format!("{field}.IsScript"),
            "not a boolean",
        ));
    };
    let (module, name) = split_module(cmd, *is_script);
    let mut command = Command {
        name,
        module,
        params: Vec::new(),
        positional: Vec::new(),
        is_script: *is_script,
        has_script_block: obj.has_script_block(),
    };
    let args = member(obj, "Args")?;
    let args_field = format!("{field}.Args");
    for (i, arg) in list_of(args, &args_field)?.iter().enumerate() {
        add_argument(&mut command, arg, json, &format!("{args_field}[{i}]"))?;
    }
    Ok(command)
}

/// `Module\Name` gives a module and a name; scripts are never split.
fn split_module(cmd: &str, is_script: bool) -> (Option<String>, String) {
    if is_script {
        return (None, cmd.to_owned());
    }
    let cmd = cmd.trim();
    match cmd.rsplit_once('\\') {
        Some((module, name)) if !module.is_empty() => (Some(module.to_owned()), name.to_owned()),
        _ => (None, cmd.to_owned()),
    }
}

/// Normalise one `{N, V}` argument (table in the module docs).
fn add_argument(
    command: &mut Command,
    arg: &Value,
    json: &mut ToJson,
    field: &str,
) -> Result<(), InspectError> {
    let obj = expect_obj(arg, field)?;
    let value = member(obj, "V")?;
    let raw_name = match member(obj, "N")? {
        Value::Nil => {
            command.positional.push(json.convert(value)?);
            return Ok(());
        }
        Value::Str(n) => n.trim_end(),
        _ => {
            return Err(InspectError::malformed(
                L,
                format!("{field}.N"),
                "not a string or Nil",
            ))
        }
    };
    let (name, bare) = match raw_name.strip_prefix('-') {
        None => (raw_name, false),
        Some(rest) => match rest.strip_suffix(':') {
            Some(explicit) => (explicit, false),
            None => (rest, matches!(value, Value::Nil)),
        },
    };
    if name.is_empty() {
        return Err(InspectError::malformed(
            L,
            format!("{field}.N"),
            "empty parameter name",
        ));
    }
    if command.param(name).is_some() {
        return Err(InspectError::malformed(
            L,
            format!("{field}.N"),
            format!("parameter {name:?} given twice (names ignore case); refusing to pick one"),
        ));
    }
    let value = if bare {
        Json::Bool(true)
    } else {
        json.named(name, value)?
    };
    command.params.push(Param {
        name: name.to_owned(),
        value,
        bare,
    });
    Ok(())
}

fn member<'a>(obj: &'a Obj, name: &str) -> Result<&'a Value, InspectError> {
    obj.member(name)
        .ok_or_else(|| InspectError::malformed(L, name, "required property missing"))
}

fn expect_obj<'a>(v: &'a Value, field: &str) -> Result<&'a Obj, InspectError> {
    v.as_obj()
        .ok_or_else(|| InspectError::malformed(L, field, "expected an object"))
}

fn list_of<'a>(v: &'a Value, field: &str) -> Result<&'a [Value], InspectError> {
    expect_obj(v, field)?
        .list()
        .ok_or_else(|| InspectError::malformed(L, field, "expected a list"))
}

#[cfg(test)]
#[path = "pipeline_tests.rs"]
mod tests;
