//! The live grants map: per principal, the grants the store says are active.
//!
//! A [`DashMap`] keyed by folded principal: a lookup locks one shard for reading, never the
//! whole map, so `decide()` on one principal never waits on a grant change for another. Within a
//! principal, exact task grants are hashed by cmdlet key, so even a principal holding very many
//! grants is checked in O(1) for a task; role and pattern grants are few and tried in turn.
//!
//! Expiry is by the `now` passed in (the injected clock): a grant counts while
//! `starts_at_ms <= now < expires_at_ms`, whether or not [`Grants::sweep`] has removed it yet.

use super::record::{GrantRecord, GrantScope};
use crate::clock::Millis;
use crate::policy::name::fold;
use crate::policy::pattern::{NamePattern, PatternError};
use crate::policy::principal_key;
use dashmap::DashMap;
use std::collections::HashMap;

/// A grant's scope, compiled for matching.
#[derive(Debug, Clone)]
pub enum LiveScope {
    /// A cmdlet name or pattern, folded and alias-resolved.
    Task(NamePattern),
    /// A role name as written in `[roles]`.
    Role(String),
}

#[derive(Debug, Clone)]
struct LiveGrant {
    record: GrantRecord,
    scope: LiveScope,
}

impl LiveGrant {
    fn is_live(&self, now: Millis) -> bool {
        self.record.starts_at_ms <= now && now < self.record.expires_at_ms
    }
}

/// One principal's grants.
#[derive(Debug, Default)]
struct PrincipalGrants {
    /// Exact task grants by folded cmdlet key.
    tasks: HashMap<String, Vec<LiveGrant>>,
    /// Role grants and pattern task grants.
    other: Vec<LiveGrant>,
}

impl PrincipalGrants {
    fn all(&self) -> impl Iterator<Item = &LiveGrant> {
        self.tasks.values().flatten().chain(self.other.iter())
    }

    fn remove(&mut self, grant_id: &str) -> Option<GrantRecord> {
        let mut removed = None;
        let mut take = |list: &mut Vec<LiveGrant>| {
            if let Some(pos) = list.iter().position(|g| g.record.id == grant_id) {
                removed = Some(list.swap_remove(pos).record);
            }
        };
        self.tasks.values_mut().for_each(&mut take);
        take(&mut self.other);
        if removed.is_some() {
            self.tasks.retain(|_, v| !v.is_empty());
        }
        removed
    }

    fn push(&mut self, grant: LiveGrant) {
        match &grant.scope {
            LiveScope::Task(NamePattern::Exact(key)) => {
                self.tasks.entry(key.clone()).or_default().push(grant)
            }
            _ => self.other.push(grant),
        }
    }

    fn is_empty(&self) -> bool {
        self.tasks.is_empty() && self.other.is_empty()
    }
}

/// A grant that cannot be held: its task names no cmdlet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("grant {grant_id}: task {problem}")]
pub struct GrantError {
    pub grant_id: String,
    pub problem: PatternError,
}

/// Active grants by principal. Share it behind an `Arc`.
#[derive(Debug, Default)]
pub struct Grants {
    by_principal: DashMap<String, PrincipalGrants>,
    /// Grant id -> folded principal, so a revoke finds its grant without a scan.
    principal_of: DashMap<String, String>,
}

impl Grants {
    pub fn new() -> Grants {
        Grants::default()
    }

    /// Hold a grant; a grant with the same id is replaced (so a rebuild is idempotent).
    pub fn insert(&self, record: GrantRecord) -> Result<(), GrantError> {
        let scope = compile_scope(&record.scope).map_err(|problem| GrantError {
            grant_id: record.id.clone(),
            problem,
        })?;
        let principal = principal_key(&record.principal);
        let previous = self.principal_of.get(&record.id).map(|p| p.value().clone());
        let replacing = previous.is_some();
        if let Some(old) = previous.filter(|old| *old != principal) {
            self.remove_from(&old, &record.id);
        }
        let id = record.id.clone();
        {
            let mut entry = self.by_principal.entry(principal.clone()).or_default();
            if replacing {
                entry.remove(&id);
            }
            entry.push(LiveGrant { record, scope });
        }
        self.principal_of.insert(id, principal);
        Ok(())
    }

    /// Remove a grant now (an administrator's revoke); returns it if it was held.
    pub fn revoke(&self, grant_id: &str) -> Option<GrantRecord> {
        let (_, principal) = self.principal_of.remove(grant_id)?;
        self.remove_from(&principal, grant_id)
    }

    fn remove_from(&self, principal: &str, grant_id: &str) -> Option<GrantRecord> {
        let removed = self.by_principal.get_mut(principal)?.remove(grant_id);
        self.by_principal.remove_if(principal, |_, g| g.is_empty());
        removed
    }

    /// The principal's grants that are live at `now`.
    pub fn active_for(&self, principal: &str, now: Millis) -> Vec<GrantRecord> {
        let Some(grants) = self.by_principal.get(&principal_key(principal)) else {
            return Vec::new();
        };
        grants
            .all()
            .filter(|g| g.is_live(now))
            .map(|g| g.record.clone())
            .collect()
    }

    /// Every grant live at `now`, for listings.
    pub fn all_active(&self, now: Millis) -> Vec<GrantRecord> {
        let mut out = Vec::new();
        for entry in self.by_principal.iter() {
            out.extend(
                entry
                    .all()
                    .filter(|g| g.is_live(now))
                    .map(|g| g.record.clone()),
            );
        }
        out
    }

    /// A live grant of `principal` (folded) that covers the folded cmdlet `key`.
    ///
    /// A task grant covers by name or pattern; a role grant when `role_covers(role)` says so.
    /// Either way the grant counts only if `policy_ok(policy_id)`: its policy still covers the
    /// cmdlet. Exact task grants are tried first, then role and pattern grants, in the order held.
    pub fn find(
        &self,
        principal: &str,
        key: &str,
        now: Millis,
        role_covers: impl Fn(&str) -> bool,
        policy_ok: impl Fn(&str) -> bool,
    ) -> Option<GrantRecord> {
        let grants = self.by_principal.get(principal)?;
        let exact = grants.tasks.get(key).into_iter().flatten();
        let covers = |g: &&LiveGrant| match &g.scope {
            LiveScope::Task(p) => p.matches(key),
            LiveScope::Role(r) => role_covers(r),
        };
        exact
            .chain(grants.other.iter())
            .filter(|g| g.is_live(now))
            .filter(covers)
            .find(|g| policy_ok(&g.record.policy_id))
            .map(|g| g.record.clone())
    }

    /// Drop every grant expired at `now`; returns them (for audit).
    pub fn sweep(&self, now: Millis) -> Vec<GrantRecord> {
        let mut expired = Vec::new();
        self.by_principal.retain(|_, grants| {
            let mut keep = |list: &mut Vec<LiveGrant>| {
                list.retain(|g| {
                    let alive = now < g.record.expires_at_ms;
                    if !alive {
                        expired.push(g.record.clone());
                    }
                    alive
                })
            };
            grants.tasks.values_mut().for_each(&mut keep);
            keep(&mut grants.other);
            grants.tasks.retain(|_, v| !v.is_empty());
            !grants.is_empty()
        });
        for g in &expired {
            self.principal_of.remove(&g.id);
        }
        expired
    }

    /// How many grants are held (live or not yet swept).
    pub fn len(&self) -> usize {
        self.principal_of.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Task grants name a cmdlet (module qualifier dropped, alias resolved) or a pattern.
fn compile_scope(scope: &GrantScope) -> Result<LiveScope, PatternError> {
    Ok(match scope {
        GrantScope::Task(task) => {
            let folded = fold(crate::policy::strip_module(task));
            match crate::policy::aliases::resolve(&folded) {
                Some(cmdlet) => LiveScope::Task(NamePattern::parse(cmdlet)?),
                None => LiveScope::Task(NamePattern::from_folded(folded)?),
            }
        }
        GrantScope::Role(role) => LiveScope::Role(role.clone()),
    })
}

#[cfg(test)]
mod tests;
