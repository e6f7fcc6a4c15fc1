//! The keys throttled recently, for `GET /v1/ratelimit` and `ratelimit status`: which caller
//! (or tenant) is hitting which rule, and how often.

use crate::clock::Millis;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Most (rule, key) pairs remembered. At the bound the entry throttled longest ago is
/// forgotten first, so a flood of distinct keys cannot grow this table.
pub const MAX_RECENT_THROTTLED_KEYS: usize = 1_024;

/// A key not throttled for this long is no longer "recent": it leaves the status and its
/// count starts again from zero.
pub const RECENT_WINDOW_MS: i64 = 15 * 60 * 1_000;

/// One throttled key as the status shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThrottledKey {
    pub rule: String,
    pub key: String,
    /// Calls throttled since `first_throttled`, with no gap longer than the recent window.
    pub count: u64,
    pub first_throttled: String,
    pub last_throttled: String,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    count: u64,
    first_ms: Millis,
    last_ms: Millis,
}

#[derive(Debug, Default)]
pub(crate) struct RecentThrottles {
    entries: Mutex<HashMap<(Arc<str>, String), Entry>>,
}

impl RecentThrottles {
    pub fn record(&self, rule: &Arc<str>, key: &str, now: Millis) {
        let mut map = self.lock();
        let id = (rule.clone(), key.to_string());
        if let Some(e) = map.get_mut(&id) {
            if now.saturating_sub(e.last_ms) > RECENT_WINDOW_MS {
                *e = Entry {
                    count: 0,
                    first_ms: now,
                    last_ms: now,
                };
            }
            e.count = e.count.saturating_add(1);
            e.last_ms = e.last_ms.max(now);
            return;
        }
        if map.len() >= MAX_RECENT_THROTTLED_KEYS {
            prune(&mut map, now);
        }
        if map.len() >= MAX_RECENT_THROTTLED_KEYS {
            evict_oldest(&mut map);
        }
        map.insert(
            id,
            Entry {
                count: 1,
                first_ms: now,
                last_ms: now,
            },
        );
    }

    /// The `limit` keys with the most throttled calls within the recent window, most first.
    pub fn top(&self, now: Millis, limit: usize) -> Vec<ThrottledKey> {
        let map = self.lock();
        let mut recent: Vec<_> = map
            .iter()
            .filter(|(_, e)| now.saturating_sub(e.last_ms) <= RECENT_WINDOW_MS)
            .collect();
        recent.sort_by(|a, b| b.1.count.cmp(&a.1.count).then_with(|| a.0.cmp(b.0)));
        recent
            .into_iter()
            .take(limit)
            .map(|((rule, key), e)| ThrottledKey {
                rule: rule.to_string(),
                key: key.clone(),
                count: e.count,
                first_throttled: crate::clock::rfc3339(e.first_ms),
                last_throttled: crate::clock::rfc3339(e.last_ms),
            })
            .collect()
    }

    /// Forget keys outside the recent window.
    pub fn prune(&self, now: Millis) {
        prune(&mut self.lock(), now);
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(Arc<str>, String), Entry>> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn prune(map: &mut HashMap<(Arc<str>, String), Entry>, now: Millis) {
    map.retain(|_, e| now.saturating_sub(e.last_ms) <= RECENT_WINDOW_MS);
}

fn evict_oldest(map: &mut HashMap<(Arc<str>, String), Entry>) {
    let oldest = map
        .iter()
        .min_by_key(|(_, e)| e.last_ms)
        .map(|(k, _)| k.clone());
    if let Some(k) = oldest {
        map.remove(&k);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_key_and_orders_most_throttled_first() {
        let r = RecentThrottles::default();
        let rule: Arc<str> = Arc::from("per-user");
        r.record(&rule, "alice", 1_000);
        r.record(&rule, "bob", 1_000);
        r.record(&rule, "bob", 2_000);
        let top = r.top(3_000, 10);
        assert_eq!(top.len(), 2);
        assert_eq!((top[0].key.as_str(), top[0].count), ("bob", 2));
        assert_eq!((top[1].key.as_str(), top[1].count), ("alice", 1));
    }

    #[test]
    fn keys_leave_the_status_after_the_window_and_restart_their_count() {
        let r = RecentThrottles::default();
        let rule: Arc<str> = Arc::from("r");
        r.record(&rule, "alice", 0);
        r.record(&rule, "alice", 0);
        assert!(r.top(RECENT_WINDOW_MS + 1, 10).is_empty());
        r.record(&rule, "alice", RECENT_WINDOW_MS + 1);
        assert_eq!(r.top(RECENT_WINDOW_MS + 1, 10)[0].count, 1);
    }

    #[test]
    fn the_table_stays_at_its_bound_forgetting_the_oldest() {
        let r = RecentThrottles::default();
        let rule: Arc<str> = Arc::from("r");
        for i in 0..MAX_RECENT_THROTTLED_KEYS {
            r.record(&rule, &format!("k{i}"), i as Millis);
        }
        assert_eq!(r.len(), MAX_RECENT_THROTTLED_KEYS);
        r.record(&rule, "newcomer", 5_000);
        assert_eq!(r.len(), MAX_RECENT_THROTTLED_KEYS);
        let keys: Vec<_> = r
            .top(5_000, usize::MAX)
            .into_iter()
            .map(|k| k.key)
            .collect();
        assert!(keys.contains(&"newcomer".to_string()));
        assert!(
            !keys.contains(&"k0".to_string()),
            "the oldest entry was evicted"
        );
    }
}
