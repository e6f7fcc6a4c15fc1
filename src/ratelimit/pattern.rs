//! Cmdlet patterns of a rule: exact names or `*` globs (`Get-*`, `*-Mailbox`, `*`),
//! compared case-insensitively as PowerShell does.

/// One compiled pattern, stored in ASCII lower case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CmdletPattern {
    lower: String,
}

impl CmdletPattern {
    pub fn new(pattern: &str) -> Self {
        CmdletPattern {
            lower: pattern.to_ascii_lowercase(),
        }
    }

    /// `true` for the bare `*`, the only pattern that also covers script text.
    pub fn is_match_all(&self) -> bool {
        self.lower == "*"
    }

    /// Whether `name` matches, ignoring ASCII case, without allocating.
    pub fn matches(&self, name: &str) -> bool {
        glob_match(self.lower.as_bytes(), name.as_bytes())
    }
}

/// `*` matches any run of bytes; everything else matches itself, ASCII case-insensitively.
/// Iterative with one backtrack point, so the cost is linear in practice and never recursive.
fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if text.get(t).is_some_and(|b| b.to_ascii_lowercase() == c) => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern
        .get(p..)
        .is_some_and(|rest| rest.iter().all(|&c| c == b'*'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, name: &str) -> bool {
        CmdletPattern::new(p).matches(name)
    }

    #[test]
    fn exact_names_match_ignoring_case() {
        assert!(m("Get-Mailbox", "get-mailbox"));
        assert!(m("get-mailbox", "GET-MAILBOX"));
        assert!(!m("Get-Mailbox", "Get-MailboxStatistics"));
        assert!(!m("Get-Mailbox", "Get-Mailbo"));
    }

    #[test]
    fn globs_match_prefixes_suffixes_and_everything() {
        assert!(m("Get-*", "Get-Mailbox"));
        assert!(m("get-*", "GET-"));
        assert!(!m("Get-*", "Set-Mailbox"));
        assert!(m("*-Mailbox", "Set-Mailbox"));
        assert!(!m("*-Mailbox", "Set-MailboxFolder"));
        assert!(m("*", "anything at all"));
        assert!(m("*", ""));
        assert!(m("New-*Rule", "New-TransportRule"));
        assert!(m("*a*a*a*", "banana-a"));
        assert!(!m("*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
    }

    #[test]
    fn only_the_bare_star_covers_everything() {
        assert!(CmdletPattern::new("*").is_match_all());
        assert!(!CmdletPattern::new("Get-*").is_match_all());
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn a_name_matches_itself_its_prefix_glob_and_star(name in "\\PC{0,40}", cut in 0usize..40) {
            prop_assert!(CmdletPattern::new("*").matches(&name));
            prop_assert!(CmdletPattern::new(&name.to_ascii_uppercase()).matches(&name));
            let mut end = cut.min(name.len());
            while !name.is_char_boundary(end) { end -= 1; }
            let prefix = format!("{}*", &name[..end]);
            prop_assert!(CmdletPattern::new(&prefix).matches(&name));
        }

        #[test]
        fn agrees_with_a_naive_recursive_matcher(pattern in "[a-c*]{0,10}", name in "[a-c]{0,14}") {
            prop_assert_eq!(
                CmdletPattern::new(&pattern).matches(&name),
                naive(pattern.as_bytes(), name.as_bytes())
            );
        }
    }

    /// The textbook definition, exponential but obviously right on small inputs.
    fn naive(p: &[u8], t: &[u8]) -> bool {
        match (p.first(), t.first()) {
            (None, None) => true,
            (Some(b'*'), _) => naive(&p[1..], t) || (!t.is_empty() && naive(p, &t[1..])),
            (Some(a), Some(b)) if a == b => naive(&p[1..], &t[1..]),
            _ => false,
        }
    }
}
