//! Task names (`New-JournalRule`, `Exchange\New-JournalRule`) and which policy covers one.

use super::error::WorkflowError;
use crate::config::{ApprovalKind, Config, PamConfig};
use crate::policy::record::PolicyRecord;
use crate::policy::{Policies, PolicyError};
use std::collections::BTreeMap;

/// Longest task name accepted (module, backslash and cmdlet).
pub const MAX_TASK_CHARS: usize = 256;

/// A validated task: optional module and the cmdlet name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task<'a> {
    pub module: Option<&'a str>,
    pub cmdlet: &'a str,
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

impl<'a> Task<'a> {
    /// Parse `Module\Cmdlet` or `Cmdlet`; `None` when it is not a cmdlet name.
    pub fn split(s: &'a str) -> Option<Task<'a>> {
        let (module, cmdlet) = match s.split_once('\\') {
            Some((m, c)) => (Some(m), c),
            None => (None, s),
        };
        let ok = s.len() <= MAX_TASK_CHARS && is_name(cmdlet) && module.is_none_or(is_name);
        ok.then_some(Task { module, cmdlet })
    }

    /// Validate user input, naming the field on error.
    pub fn parse(s: &'a str) -> Result<Task<'a>, WorkflowError> {
        Task::split(s.trim()).ok_or_else(|| {
            WorkflowError::bad_input(
                "task",
                "invalid_task",
                format!(
                    "{:?} is not a cmdlet name; write e.g. \"New-JournalRule\" or \
                     \"Exchange\\New-JournalRule\" (letters, digits, '-', '_', '.'; at most \
                     {MAX_TASK_CHARS} characters)",
                    crate::workflow::task::shorten(s)
                ),
            )
        })
    }

    /// The task as stored and shown: `Module\Cmdlet` or `Cmdlet`, trimmed.
    pub fn text(&self) -> String {
        match self.module {
            Some(m) => format!("{m}\\{}", self.cmdlet),
            None => self.cmdlet.to_string(),
        }
    }

    /// Same cmdlet (case-insensitive), and the same module when both name one.
    pub fn matches(&self, other: &Task<'_>) -> bool {
        let module_ok = match (self.module, other.module) {
            (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
            _ => true,
        };
        module_ok && self.cmdlet.eq_ignore_ascii_case(other.cmdlet)
    }
}

/// Cut long user input before echoing it in an error message.
pub fn shorten(s: &str) -> String {
    s.chars().take(80).collect()
}

/// Compile `policies` with the policy engine, so the workflow finds exactly the policy that
/// `decide()` refuses a call under (same folding, aliases, patterns and roles).
pub fn compile(
    policies: &[PolicyRecord],
    roles: &BTreeMap<String, Vec<String>>,
    groups: &BTreeMap<String, Vec<String>>,
) -> Result<Policies, PolicyError> {
    Policies::compile(&PamConfig::default(), roles, groups, policies)
}

/// The policy a request for `task` falls under: a manual one if any covers it (the stricter
/// rule wins), else the first auto one. The module qualifier never narrows coverage.
pub fn covering_policy(compiled: &Policies, task: &Task<'_>) -> Option<PolicyRecord> {
    let key = crate::policy::name::resolve(task.cmdlet, task.module).key;
    let covering: Vec<&PolicyRecord> = compiled
        .covering(&key)
        .into_iter()
        .filter_map(|i| compiled.policy(i).map(|p| &p.record))
        .collect();
    let manual = covering.iter().find(|p| p.approval == ApprovalKind::Manual);
    manual.or(covering.first()).map(|p| (*p).clone())
}

/// The `[[policy]]` tables of the config file as records with ids `C-1`, `C-2`, ...
pub fn config_policy_records(config: &Config) -> Vec<PolicyRecord> {
    let records = config.policy.iter().enumerate();
    records
        .filter_map(|(i, p)| PolicyRecord::from_config(i, p).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(
        id: &str,
        scope: crate::policy::record::Scope,
        approval: ApprovalKind,
    ) -> PolicyRecord {
        PolicyRecord {
            id: id.into(),
            scope,
            approval,
            approvers: "g".into(),
            max_hours: 8,
        }
    }

    #[test]
    fn task_names_are_checked() {
        let t = Task::parse("Exchange\\New-JournalRule").unwrap();
        assert_eq!((t.module, t.cmdlet), (Some("Exchange"), "New-JournalRule"));
        for bad in [
            "",
            "New JournalRule",
            "a\\b\\c",
            "\\New-X",
            "Get-X;rm",
            &"x".repeat(257),
        ] {
            let e = Task::parse(bad).unwrap_err();
            assert_eq!(e.field, Some("task"), "{bad}");
        }
    }

    #[test]
    fn module_must_agree_only_when_both_name_one() {
        let p = Task::split("Exchange\\New-JournalRule").unwrap();
        assert!(p.matches(&Task::split("new-journalrule").unwrap()));
        assert!(p.matches(&Task::split("EXCHANGE\\New-JournalRule").unwrap()));
        assert!(!p.matches(&Task::split("Other\\New-JournalRule").unwrap()));
        assert!(!p.matches(&Task::split("New-JournalRules").unwrap()));
    }

    #[test]
    fn roles_and_role_groups_cover_their_cmdlets_and_manual_wins() {
        use crate::policy::record::Scope;
        let roles = BTreeMap::from([(
            "journaling".to_string(),
            vec!["Set-JournalRule".to_string()],
        )]);
        let groups = BTreeMap::from([("g".to_string(), vec![])]);
        let policies = vec![
            policy("C-1", Scope::Role("journaling".into()), ApprovalKind::Auto),
            policy(
                "P-1",
                Scope::RoleGroup(vec!["journaling".into()]),
                ApprovalKind::Manual,
            ),
            policy(
                "P-2",
                Scope::Task("Get-Mailbox*".into()),
                ApprovalKind::Auto,
            ),
        ];
        let compiled = compile(&policies, &roles, &groups).unwrap();
        let task = Task::split("Exchange\\set-journalrule").unwrap();
        assert_eq!(covering_policy(&compiled, &task).unwrap().id, "P-1");
        let patterned = Task::split("Get-MailboxStatistics").unwrap();
        assert_eq!(covering_policy(&compiled, &patterned).unwrap().id, "P-2");
        let other = Task::split("Set-Mailbox").unwrap();
        assert!(covering_policy(&compiled, &other).is_none());
    }
}
