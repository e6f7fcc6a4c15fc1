//! Cmdlet name patterns (`Get-*`, `*-JournalRule`, `Set-?ailbox`) and an index that finds every
//! pattern matching a name at a cost independent of how many patterns exist.
//!
//! Exact names and the common shapes are hashed: `prefix*` patterns are found by looking up each
//! prefix of the name, `*suffix` patterns by each suffix, so a lookup costs O(length of the name)
//! hash probes however many policies there are. Only general globs (several `*`, or `?`) are
//! tried one by one; they are rare, and kept in their own list so the cost is visible.

use super::name::fold;
use std::collections::HashMap;

/// A compiled pattern over folded names. PowerShell wildcards: `*` any run, `?` one character.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamePattern {
    Exact(String),
    /// `prefix*` (and `*` itself, with an empty prefix).
    Prefix(String),
    /// `*suffix`.
    Suffix(String),
    /// Anything else with wildcards, as folded characters.
    Glob(Vec<char>),
}

/// A pattern that cannot be compiled, with what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    #[error("is empty; give a cmdlet name or a pattern such as Get-*")]
    Empty,
    #[error("{0:?} uses [...] ranges, which are not supported; use * and ? only")]
    Range(String),
}

impl NamePattern {
    /// Fold and classify a pattern from config or the store.
    pub fn parse(text: &str) -> Result<NamePattern, PatternError> {
        NamePattern::from_folded(fold(text))
    }

    /// Classify a pattern already folded with [`fold`].
    pub fn from_folded(folded: String) -> Result<NamePattern, PatternError> {
        if folded.is_empty() {
            return Err(PatternError::Empty);
        }
        let (mut stars, mut has_question) = (0usize, false);
        for b in folded.bytes() {
            match b {
                b'[' | b']' => return Err(PatternError::Range(folded)),
                b'*' => stars += 1,
                b'?' => has_question = true,
                _ => {}
            }
        }
        Ok(match (stars, has_question) {
            (0, false) => NamePattern::Exact(folded),
            (1, false) if folded.ends_with('*') => {
                NamePattern::Prefix(folded.trim_end_matches('*').to_string())
            }
            (1, false) if folded.starts_with('*') => {
                NamePattern::Suffix(folded.trim_start_matches('*').to_string())
            }
            _ => NamePattern::Glob(folded.chars().collect()),
        })
    }

    /// Whether a folded name matches.
    pub fn matches(&self, key: &str) -> bool {
        match self {
            NamePattern::Exact(e) => e == key,
            NamePattern::Prefix(p) => key.starts_with(p.as_str()),
            NamePattern::Suffix(s) => key.ends_with(s.as_str()),
            NamePattern::Glob(g) => glob_match(g, key),
        }
    }

    /// Whether the pattern has wildcards.
    pub fn is_exact(&self) -> bool {
        matches!(self, NamePattern::Exact(_))
    }
}

/// Iterative wildcard matching with single-star backtracking: O(pattern × name) at worst.
fn glob_match(pattern: &[char], key: &str) -> bool {
    let name: Vec<char> = key.chars().collect();
    let (mut p, mut n) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, n));
                p += 1;
            }
            Some(c) if *c == '?' || Some(c) == name.get(n) => {
                p += 1;
                n += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    p = sp + 1;
                    n = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    pattern.iter().skip(p).all(|c| *c == '*')
}

/// Patterns mapped to values (policy indexes, or `()` for a plain set).
#[derive(Debug, Clone)]
pub struct NameIndex<T> {
    exact: HashMap<String, Vec<T>>,
    prefix: HashMap<String, Vec<T>>,
    suffix: HashMap<String, Vec<T>>,
    globs: Vec<(Vec<char>, T)>,
}

impl<T> Default for NameIndex<T> {
    fn default() -> Self {
        NameIndex {
            exact: HashMap::new(),
            prefix: HashMap::new(),
            suffix: HashMap::new(),
            globs: Vec::new(),
        }
    }
}

impl<T: Copy> NameIndex<T> {
    pub fn insert(&mut self, pattern: &NamePattern, value: T) {
        match pattern {
            NamePattern::Exact(k) => self.exact.entry(k.clone()).or_default().push(value),
            NamePattern::Prefix(p) => self.prefix.entry(p.clone()).or_default().push(value),
            NamePattern::Suffix(s) => self.suffix.entry(s.clone()).or_default().push(value),
            NamePattern::Glob(g) => self.globs.push((g.clone(), value)),
        }
    }

    /// Call `f` with the value of every pattern that matches the folded `key`.
    pub fn for_each_match(&self, key: &str, mut f: impl FnMut(T)) {
        let mut emit = |hits: Option<&Vec<T>>| hits.into_iter().flatten().for_each(|v| f(*v));
        emit(self.exact.get(key));
        if !self.prefix.is_empty() || !self.suffix.is_empty() {
            for (i, _) in key.char_indices().chain(std::iter::once((key.len(), ' '))) {
                if let (Some(head), Some(tail)) = (key.get(..i), key.get(i..)) {
                    emit(self.prefix.get(head));
                    emit(self.suffix.get(tail));
                }
            }
        }
        for (glob, value) in &self.globs {
            if glob_match(glob, key) {
                f(*value);
            }
        }
    }

    /// Whether any pattern matches the folded `key`.
    pub fn matches(&self, key: &str) -> bool {
        let mut hit = false;
        self.for_each_match(key, |_| hit = true);
        hit
    }

    /// How many patterns must be tried one by one (the only per-pattern cost of a lookup).
    pub fn glob_count(&self) -> usize {
        self.globs.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> NamePattern {
        NamePattern::parse(s).unwrap()
    }

    #[test]
    fn shapes_are_classified() {
        assert_eq!(
            p("New-JournalRule"),
            NamePattern::Exact("new-journalrule".into())
        );
        assert_eq!(p("Get-*"), NamePattern::Prefix("get-".into()));
        assert_eq!(p("*"), NamePattern::Prefix(String::new()));
        assert_eq!(
            p("*-JournalRule"),
            NamePattern::Suffix("-journalrule".into())
        );
        assert!(matches!(p("*-Journal*"), NamePattern::Glob(_)));
        assert!(matches!(p("Set-?ailbox"), NamePattern::Glob(_)));
    }

    #[test]
    fn bad_patterns_say_what_to_do() {
        assert_eq!(NamePattern::parse("  "), Err(PatternError::Empty));
        let e = NamePattern::parse("Get-[ab]*").unwrap_err();
        assert!(e.to_string().contains("use * and ? only"), "{e}");
    }

    #[test]
    fn patterns_match_folded_names() {
        assert!(p("GET-*").matches("get-mailbox"));
        assert!(!p("Get-*").matches("set-mailbox"));
        assert!(p("*-journalrule").matches("new-journalrule"));
        assert!(p("*Journal*").matches("new-journalrule"));
        assert!(p("Set-?ailbox").matches("set-mailbox"));
        assert!(!p("Set-?ailbox").matches("set-ailbox"));
        assert!(p("a*b*c").matches("axxbyyc"));
        assert!(!p("a*b*c").matches("axxbyy"));
        assert!(p("*").matches(""));
    }

    #[test]
    fn index_finds_every_matching_pattern() {
        let mut idx = NameIndex::default();
        for (i, pat) in [
            "New-JournalRule",
            "New-*",
            "*-JournalRule",
            "*Journal*",
            "Get-*",
        ]
        .iter()
        .enumerate()
        {
            idx.insert(&p(pat), i);
        }
        let mut hits = vec![];
        idx.for_each_match("new-journalrule", |v| hits.push(v));
        hits.sort();
        assert_eq!(hits, vec![0, 1, 2, 3]);
        assert!(!idx.matches("set-mailbox"));
        assert_eq!(idx.glob_count(), 1);
    }

    #[test]
    fn index_handles_non_ascii_keys_at_char_boundaries() {
        let mut idx = NameIndex::default();
        idx.insert(&p("Ünï*"), 1);
        idx.insert(&p("*çödé"), 2);
        let mut hits = vec![];
        idx.for_each_match(&fold("ÜNÏ-çödé"), |v| hits.push(v));
        hits.sort();
        assert_eq!(hits, vec![1, 2]);
    }
}
