//! Code whose contents the gateway cannot check.
//!
//! A policy names cmdlets. Anything that makes the endpoint run code the gateway never sees as a
//! cmdlet name could reach a covered cmdlet unseen, so with `[pam] scripts = "deny"` (the default)
//! all of it is refused:
//!
//! - a script (`IsScript = true`: the "name" is script text);
//! - a script block anywhere in the arguments or pipeline input (`<SBK>`);
//! - a command named by a path or a program/script file (`C:\x.ps1`, `tool.exe`), or a shell or
//!   interpreter that runs code given as an argument ([`INTERPRETERS`]: `powershell -c ...`);
//! - a cmdlet of [`CODE_RUNNING_CMDLETS`], the one list of cmdlets that run code given as a
//!   string or a block, or that bind a new name to a command at run time.
//!
//! This set defends `default = "allow"` deployments against the known ways to run code; a strict
//! allow-list (`default = "deny"`) is the complete defence against the ones nobody listed.
//! Service and scheduled-task definitions (`New-Service`, `Register-ScheduledTask`) are ordinary
//! administrative cmdlets: policies govern them by name.

use super::name::{fold, ResolvedName};
use crate::invocation::{Command, Value};

/// When a listed cmdlet counts as running unchecked code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// Every call.
    Always,
    /// Only with a script block argument (which the generic `<SBK>` rule refuses anyway; listed
    /// so the reason names the cmdlet and so the set documents every known code path).
    WithScriptBlock,
    /// When an argument names the `Function:` or `Alias:` drive: writing there defines a command.
    OnCodeDrive,
}

/// One cmdlet of the code-running set, with why it is there.
#[derive(Debug)]
pub struct CodeCmdlet {
    pub name: &'static str,
    pub when: When,
    pub why: &'static str,
}

const fn entry(name: &'static str, when: When, why: &'static str) -> CodeCmdlet {
    CodeCmdlet { name, when, why }
}

const DEFINES_ALIAS: &str = "binds a new name to a command at run time, so a later call by that \
                             name would reach a cmdlet under a name no policy knows";
const CODE_DRIVE: &str = "writing to the Function: or Alias: drive defines a command the gateway \
                          cannot follow";
const RUNS_ITS_BLOCK: &str = "runs its script block argument";

/// The cmdlets that run code given as a string or a block (or define commands at run time).
pub static CODE_RUNNING_CMDLETS: &[CodeCmdlet] = &[
    entry(
        "Invoke-Expression",
        When::Always,
        "runs a string as PowerShell code",
    ),
    entry(
        "Invoke-Command",
        When::Always,
        "runs a script block or a script file (-FilePath), locally or on other computers",
    ),
    entry(
        "ForEach-Object",
        When::Always,
        "runs script blocks, and -MemberName calls any method of its input objects \
         (for example InvokeScript on the engine's command intrinsics)",
    ),
    entry("Where-Object", When::WithScriptBlock, RUNS_ITS_BLOCK),
    entry(
        "Start-Job",
        When::Always,
        "runs a script block, a script file or an initialization script as a background job",
    ),
    entry(
        "Start-ThreadJob",
        When::Always,
        "runs a script block or a script file on a thread",
    ),
    entry(
        "Register-ScheduledJob",
        When::Always,
        "runs a script block or file on a schedule",
    ),
    entry(
        "Add-Type",
        When::Always,
        "compiles and loads C# or VB source or an assembly",
    ),
    entry(
        "New-Module",
        When::Always,
        "runs a script block as a dynamic module",
    ),
    entry(
        "Import-Module",
        When::Always,
        "loads and runs a module's code from a name or path",
    ),
    entry(
        "Add-PSSnapin",
        When::Always,
        "loads a snap-in assembly's code",
    ),
    entry(
        "Import-PSSession",
        When::Always,
        "defines functions that run another session's commands, under prefixed names",
    ),
    entry(
        "Update-TypeData",
        When::Always,
        "loads type files whose script properties and methods run on member access",
    ),
    entry(
        "Invoke-Item",
        When::Always,
        "opens a file with its associated program",
    ),
    entry(
        "Start-Process",
        When::Always,
        "runs any program with any arguments",
    ),
    entry(
        "Invoke-WmiMethod",
        When::Always,
        "Win32_Process.Create runs any command line",
    ),
    entry(
        "Invoke-CimMethod",
        When::Always,
        "Win32_Process.Create runs any command line",
    ),
    entry(
        "Invoke-History",
        When::Always,
        "re-runs earlier command lines as script text",
    ),
    entry(
        "Add-History",
        When::Always,
        "adds any text to the history Invoke-History runs",
    ),
    entry("Set-Alias", When::Always, DEFINES_ALIAS),
    entry("New-Alias", When::Always, DEFINES_ALIAS),
    entry("Import-Alias", When::Always, DEFINES_ALIAS),
    entry(
        "New-PSDrive",
        When::Always,
        "can map a drive onto the Function or Alias provider, after which item cmdlets \
         define commands",
    ),
    entry(
        "Register-ObjectEvent",
        When::WithScriptBlock,
        "runs its -Action block on events",
    ),
    entry(
        "Register-EngineEvent",
        When::WithScriptBlock,
        "runs its -Action block on events",
    ),
    entry(
        "Register-WmiEvent",
        When::WithScriptBlock,
        "runs its -Action block on events",
    ),
    entry(
        "Register-CimIndicationEvent",
        When::WithScriptBlock,
        "runs its -Action block",
    ),
    entry(
        "Set-PSBreakpoint",
        When::WithScriptBlock,
        "runs its -Action block at breakpoints",
    ),
    entry("Trace-Command", When::WithScriptBlock, RUNS_ITS_BLOCK),
    entry("Measure-Command", When::WithScriptBlock, RUNS_ITS_BLOCK),
    entry("New-Item", When::OnCodeDrive, CODE_DRIVE),
    entry("Set-Item", When::OnCodeDrive, CODE_DRIVE),
    entry("Copy-Item", When::OnCodeDrive, CODE_DRIVE),
    entry("Move-Item", When::OnCodeDrive, CODE_DRIVE),
    entry("Rename-Item", When::OnCodeDrive, CODE_DRIVE),
    entry("Set-Content", When::OnCodeDrive, CODE_DRIVE),
    entry("Add-Content", When::OnCodeDrive, CODE_DRIVE),
    entry(
        "Set-Location",
        When::OnCodeDrive,
        "moving into the Function: or Alias: drive lets later item calls define commands \
         by relative name",
    ),
    entry(
        "Push-Location",
        When::OnCodeDrive,
        "moving into the Function: or Alias: drive lets later item calls define commands \
         by relative name",
    ),
];

/// Programs that run code given as an argument (`powershell -c`, `cmd /c`, `wmic process call
/// create`, ...). Compared with the `.exe` suffix removed.
pub const INTERPRETERS: &[&str] = &[
    "powershell",
    "pwsh",
    "powershell_ise",
    "cmd",
    "wscript",
    "cscript",
    "mshta",
    "rundll32",
    "regsvr32",
    "msbuild",
    "installutil",
    "regasm",
    "regsvcs",
    "wmic",
    "schtasks",
    "at",
    "bash",
    "sh",
    "wsl",
    "python",
    "python3",
    "perl",
    "node",
    "forfiles",
    "runas",
    "psexec",
    "conhost",
    "msiexec",
];

/// How deep [`mentions_code_drive`] looks into nested argument values. A value nested deeper
/// counts as mentioning a code drive (fail closed); the inspector's CLIXML depth limit keeps
/// real values far shallower.
pub const MAX_VALUE_DEPTH: usize = 32;

/// Why a command counts as code the gateway cannot check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeKind {
    /// `IsScript`: the command is script text.
    Script,
    /// A script block travels in an argument or in pipeline input.
    ScriptBlock,
    /// The command is a path, a program or script file, or an interpreter.
    Program,
    /// A cmdlet of [`CODE_RUNNING_CMDLETS`]; the text says why.
    CodeCmdlet(&'static str),
}

/// Classify one command; `None` when it is an ordinary cmdlet call.
pub fn classify(cmd: &Command, name: &ResolvedName) -> Option<CodeKind> {
    if cmd.is_script {
        return Some(CodeKind::Script);
    }
    if name.path_like || is_interpreter(&name.key) {
        return Some(CodeKind::Program);
    }
    if let Some(listed) = lookup(&name.key) {
        let runs_code = match listed.when {
            When::Always => true,
            When::WithScriptBlock => cmd.has_script_block,
            When::OnCodeDrive => mentions_code_drive(cmd),
        };
        if runs_code {
            return Some(CodeKind::CodeCmdlet(listed.why));
        }
    }
    cmd.has_script_block.then_some(CodeKind::ScriptBlock)
}

/// The listed cmdlet whose folded name is `key`.
pub fn lookup(key: &str) -> Option<&'static CodeCmdlet> {
    CODE_RUNNING_CMDLETS
        .iter()
        .find(|c| c.name.eq_ignore_ascii_case(key))
}

fn is_interpreter(key: &str) -> bool {
    let bare = key.strip_suffix(".exe").unwrap_or(key);
    INTERPRETERS.contains(&bare)
}

/// Whether any argument value names the `Function:` or `Alias:` drive (also provider-qualified,
/// `Microsoft.PowerShell.Core\Function::x`).
pub fn mentions_code_drive(cmd: &Command) -> bool {
    let named = cmd.params.iter().map(|p| &p.value);
    named
        .chain(cmd.positional.iter())
        .any(|v| value_mentions_code_drive(v, 0))
}

fn value_mentions_code_drive(value: &Value, depth: usize) -> bool {
    if depth >= MAX_VALUE_DEPTH {
        return true;
    }
    match value {
        Value::String(s) => {
            let f = fold(s);
            f.contains("function:") || f.contains("alias:")
        }
        Value::Array(items) => items
            .iter()
            .any(|v| value_mentions_code_drive(v, depth + 1)),
        Value::Object(map) => map
            .values()
            .any(|v| value_mentions_code_drive(v, depth + 1)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invocation::Param;
    use crate::policy::name::resolve;
    use serde_json::json;

    fn cmd(name: &str) -> Command {
        Command {
            name: name.into(),
            module: None,
            params: vec![],
            positional: vec![],
            is_script: false,
            has_script_block: false,
        }
    }

    fn classify_name(c: &Command) -> Option<CodeKind> {
        classify(c, &resolve(&c.name, c.module.as_deref()))
    }

    #[test]
    fn every_listed_name_is_a_folded_cmdlet_name_without_duplicates() {
        let mut seen = std::collections::HashSet::new();
        for c in CODE_RUNNING_CMDLETS {
            assert!(c.name.is_ascii() && c.name.contains('-'), "{}", c.name);
            assert!(seen.insert(fold(c.name)), "duplicate {}", c.name);
            assert!(!c.why.is_empty());
        }
    }

    #[test]
    fn always_listed_cmdlets_are_code_under_any_alias_or_case() {
        for name in [
            "iex",
            "Invoke-Expression",
            "ICM",
            "%",
            "foreach",
            "sajb",
            "saps",
            "ii",
            "r",
        ] {
            assert!(
                matches!(classify_name(&cmd(name)), Some(CodeKind::CodeCmdlet(_))),
                "{name}"
            );
        }
    }

    #[test]
    fn where_object_is_code_only_with_a_block() {
        let mut c = cmd("?");
        assert_eq!(classify_name(&c), None);
        c.has_script_block = true;
        assert!(matches!(classify_name(&c), Some(CodeKind::CodeCmdlet(_))));
    }

    #[test]
    fn any_script_block_is_code_and_scripts_are_code() {
        let mut c = cmd("Get-Mailbox");
        c.has_script_block = true;
        assert_eq!(classify_name(&c), Some(CodeKind::ScriptBlock));
        let mut s = cmd("Get-Mailbox | Remove-Mailbox");
        s.is_script = true;
        assert_eq!(classify_name(&s), Some(CodeKind::Script));
    }

    #[test]
    fn programs_interpreters_and_paths_are_code() {
        for name in [
            "powershell",
            "PWSH.EXE",
            "cmd",
            "C:\\x\\run.ps1",
            "tool.exe",
            ".\\x",
        ] {
            assert_eq!(classify_name(&cmd(name)), Some(CodeKind::Program), "{name}");
        }
        assert_eq!(classify_name(&cmd("Get-Mailbox")), None);
    }

    #[test]
    fn item_cmdlets_on_the_function_or_alias_drive_are_code() {
        let mut c = cmd("ni");
        c.params.push(Param {
            name: "Path".into(),
            value: json!("FUNCTION:\\foo"),
            bare: false,
        });
        assert!(matches!(classify_name(&c), Some(CodeKind::CodeCmdlet(_))));
        let mut nested = cmd("Set-Item");
        nested
            .positional
            .push(json!(["x", {"p": "Microsoft.PowerShell.Core\\Alias::x"}]));
        assert!(matches!(
            classify_name(&nested),
            Some(CodeKind::CodeCmdlet(_))
        ));
        let mut file = cmd("New-Item");
        file.positional.push(json!("C:\\temp\\notes.txt"));
        assert_eq!(classify_name(&file), None);
    }

    #[test]
    fn values_nested_past_the_depth_limit_count_as_code_drive() {
        let mut v = json!("plain");
        for _ in 0..MAX_VALUE_DEPTH {
            v = json!([v]);
        }
        let mut c = cmd("Set-Content");
        c.positional.push(v);
        assert!(mentions_code_drive(&c));
        let mut shallow = cmd("Set-Content");
        shallow.positional.push(json!([["plain"]]));
        assert!(!mentions_code_drive(&shallow));
    }
}
