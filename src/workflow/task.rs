//! Task names (`New-JournalRule`, `Exchange\New-JournalRule`) and which policy covers one.

use super::error::WorkflowError;
use crate::config::{ApprovalKind, Config};
use crate::policy::record::{PolicyRecord, Scope};
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

fn entry_covers(entry: &str, task: &Task<'_>) -> bool {
    Task::split(entry).is_some_and(|e| e.matches(task))
}

/// Whether `policy` covers `task`, resolving roles through `[roles]`.
pub fn covers(
    policy: &PolicyRecord,
    task: &Task<'_>,
    roles: &BTreeMap<String, Vec<String>>,
) -> bool {
    let role_covers = |role: &String| {
        roles
            .get(role)
            .is_some_and(|cmdlets| cmdlets.iter().any(|c| entry_covers(c, task)))
    };
    match &policy.scope {
        Scope::Task(t) => entry_covers(t, task),
        Scope::Role(r) => role_covers(r),
        Scope::RoleGroup(rs) => rs.iter().any(role_covers),
    }
}

/// The policy a request for `task` falls under: a manual one if any covers it (the stricter
/// rule wins), else the first auto one.
pub fn covering_policy<'p>(
    policies: &'p [PolicyRecord],
    task: &Task<'_>,
    roles: &BTreeMap<String, Vec<String>>,
) -> Option<&'p PolicyRecord> {
    let mut covering = policies.iter().filter(|p| covers(p, task, roles));
    let all: Vec<_> = covering.by_ref().collect();
    all.iter()
        .find(|p| p.approval == ApprovalKind::Manual)
        .or(all.first())
        .copied()
}

/// The `[[policy]]` tables of the config file as records with ids `C-1`, `C-2`, ...
pub fn config_policy_records(config: &Config) -> Vec<PolicyRecord> {
    let scope = |p: &crate::config::PolicyConfig| {
        if let Some(t) = &p.task {
            Scope::Task(t.clone())
        } else if let Some(r) = &p.role {
            Scope::Role(r.clone())
        } else {
            Scope::RoleGroup(p.role_group.clone().unwrap_or_default())
        }
    };
    let records = config.policy.iter().enumerate().map(|(i, p)| PolicyRecord {
        id: format!("C-{}", i + 1),
        scope: scope(p),
        approval: p.approval,
        approvers: p.approvers.clone(),
        max_hours: p.max_hours,
    });
    records.collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(id: &str, scope: Scope, approval: ApprovalKind) -> PolicyRecord {
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
        let roles = BTreeMap::from([(
            "journaling".to_string(),
            vec!["Set-JournalRule".to_string()],
        )]);
        let policies = vec![
            policy("C-1", Scope::Role("journaling".into()), ApprovalKind::Auto),
            policy(
                "P-1",
                Scope::RoleGroup(vec!["journaling".into()]),
                ApprovalKind::Manual,
            ),
        ];
        let task = Task::split("Set-JournalRule").unwrap();
        assert_eq!(covering_policy(&policies, &task, &roles).unwrap().id, "P-1");
        let other = Task::split("Get-Mailbox").unwrap();
        assert!(covering_policy(&policies, &other, &roles).is_none());
    }
}
