//! Command names as PowerShell resolves them, reduced to one comparison key.
//!
//! A policy must cover a cmdlet however the client spells it. PowerShell looks commands up with
//! .NET `OrdinalIgnoreCase`, which upper-cases each character with the *simple* Unicode mapping:
//! so `ſet-Mailbox` (U+017F long s) and `ınvoke-Expression` (U+0131 dotless i) find `Set-Mailbox`
//! and `Invoke-Expression`. ASCII lower-casing alone would let those spellings escape a policy, so
//! [`fold`] mirrors the .NET rule. Dash look-alikes (en dash, em dash, horizontal bar), which
//! PowerShell's tokenizer treats as `-`, are folded to `-` as well: that only widens coverage.
//!
//! Module qualifiers (`Exchange\New-JournalRule`) are chosen by the client and never narrow
//! coverage: the key is the bare command name. A qualifier or name that looks like a file path
//! (`C:\x.ps1`, `.\run`, `tool.exe`) names code the gateway cannot see into, and is flagged.

use super::aliases;

/// The longest command name kept in user-facing messages; longer names are cut with `…`.
/// Names are client-controlled and may be script text, so messages never echo them whole.
pub const MAX_NAME_IN_MESSAGE: usize = 128;

/// Script and program file extensions: a command name ending in one runs that file.
const CODE_EXTENSIONS: &[&str] = &[
    "ps1", "psm1", "psd1", "bat", "cmd", "com", "exe", "vbs", "vbe", "js", "jse", "wsf", "wsh",
    "hta", "msc", "msi", "scr", "cpl", "py", "sh", "pl", "lnk",
];

/// Fold one character the way .NET `OrdinalIgnoreCase` compares it, then lower-case ASCII so
/// keys read naturally (`new-journalrule`).
fn fold_char(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    let c = match c {
        '\u{2013}' | '\u{2014}' | '\u{2015}' => '-',
        _ => c,
    };
    let mut upper = c.to_uppercase();
    let simple = match (upper.next(), upper.next()) {
        (Some(u), None) => u,
        // A multi-character upper case (ß -> SS) is not a simple mapping: .NET keeps the char.
        _ => c,
    };
    if simple.is_ascii() {
        simple.to_ascii_lowercase()
    } else {
        simple
    }
}

/// The case-insensitive comparison key of a name (a cmdlet, a pattern, a role member).
pub fn fold(name: &str) -> String {
    name.trim().chars().map(fold_char).collect()
}

/// A command name from an invocation, reduced to what matching needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedName {
    /// The comparison key of the cmdlet, after alias resolution (`invoke-expression` for `iex`).
    pub key: String,
    /// The cmdlet's usual spelling when it came from the alias table, else the name as sent.
    pub display: String,
    /// The alias the client used, when it used one (`iex`).
    pub alias: Option<String>,
    /// The name or its qualifier is a file path or a program/script file: code, not a cmdlet.
    pub path_like: bool,
}

/// Resolve a command's name and optional module qualifier.
///
/// A qualifier may also arrive inside `name` (`Exchange\New-JournalRule`); it is split off the
/// same way. The qualifier only decides whether the name is a path; it never changes the key.
pub fn resolve(name: &str, module: Option<&str>) -> ResolvedName {
    let name = name.trim();
    let (qualifier, base) = match name.rsplit_once('\\') {
        Some((q, b)) => (Some(q), b),
        None => (None, name),
    };
    let path_like = qualifier.is_some_and(|q| !is_module_name(q))
        || module.is_some_and(|m| !is_module_name(m.trim()))
        || looks_like_file(base);
    let key = fold(base);
    match aliases::resolve(&key) {
        Some(cmdlet) => ResolvedName {
            key: fold(cmdlet),
            display: cmdlet.to_string(),
            alias: Some(shorten(base)),
            path_like,
        },
        None => ResolvedName {
            key,
            display: shorten(base),
            alias: None,
            path_like,
        },
    }
}

/// A module qualifier PowerShell would accept: letters, digits, `.`, `_`, `-`, starting with
/// a letter, digit or `_` (so `.`, `..`, `~` and drive names are paths, not modules).
fn is_module_name(q: &str) -> bool {
    let mut chars = q.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_alphanumeric() || c == '_');
    first_ok && chars.all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// An empty name, a name with a path separator or drive colon, or a file-like extension.
fn looks_like_file(base: &str) -> bool {
    if base.is_empty() || base.contains(['/', ':']) {
        return true;
    }
    match base.rsplit_once('.') {
        Some((_, ext)) => CODE_EXTENSIONS.iter().any(|e| e.eq_ignore_ascii_case(ext)),
        None => false,
    }
}

/// Cut a client-supplied name to [`MAX_NAME_IN_MESSAGE`] characters for display.
pub fn shorten(name: &str) -> String {
    if name.chars().count() <= MAX_NAME_IN_MESSAGE {
        return name.to_string();
    }
    let mut s: String = name.chars().take(MAX_NAME_IN_MESSAGE).collect();
    s.push('…');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_mirrors_dotnet_ordinal_ignore_case() {
        assert_eq!(fold("New-JournalRule"), "new-journalrule");
        // U+017F long s and U+0131 dotless i upper-case to ASCII S and I in .NET.
        assert_eq!(fold("\u{17F}et-Mailbox"), "set-mailbox");
        assert_eq!(fold("\u{131}nvoke-Expression"), "invoke-expression");
        // ß has no single-character upper case: .NET keeps it, so must we.
        assert_eq!(fold("Stra\u{DF}e"), "stra\u{DF}e");
        // The Kelvin sign is already upper case; .NET does not equate it with k.
        assert_ne!(fold("\u{212A}ill"), fold("kill"));
    }

    #[test]
    fn dash_lookalikes_and_outer_spaces_fold_away() {
        assert_eq!(fold(" New\u{2013}JournalRule "), "new-journalrule");
        assert_eq!(fold("New\u{2014}JournalRule"), "new-journalrule");
    }

    #[test]
    fn module_qualifier_never_changes_the_key() {
        let plain = resolve("New-JournalRule", None);
        let inline = resolve("Microsoft.Exchange\\New-JournalRule", None);
        let field = resolve("New-JournalRule", Some("tmp_1x2y.abc"));
        assert_eq!(plain.key, "new-journalrule");
        assert_eq!(inline.key, plain.key);
        assert_eq!(field.key, plain.key);
        assert!(!plain.path_like && !inline.path_like && !field.path_like);
    }

    #[test]
    fn aliases_resolve_even_when_qualified() {
        let r = resolve("Microsoft.PowerShell.Utility\\IEX", None);
        assert_eq!(r.key, "invoke-expression");
        assert_eq!(r.display, "Invoke-Expression");
        assert_eq!(r.alias.as_deref(), Some("IEX"));
    }

    #[test]
    fn paths_and_program_files_are_flagged() {
        for name in [
            "C:\\scripts\\x.ps1",
            ".\\run",
            "..\\tool",
            "tool.exe",
            "x.PS1",
            "/usr/bin/pwsh",
            "C:",
            "a\\b\\New-JournalRule",
            "",
        ] {
            assert!(resolve(name, None).path_like, "{name:?}");
        }
        assert!(resolve("Get-Date", Some("C:\\mods")).path_like);
        assert!(!resolve("Get-Date", Some("Microsoft.PowerShell.Utility")).path_like);
    }

    #[test]
    fn long_names_are_shortened_for_messages() {
        let long = "x".repeat(MAX_NAME_IN_MESSAGE + 10);
        let r = resolve(&long, None);
        assert_eq!(r.display.chars().count(), MAX_NAME_IN_MESSAGE + 1);
        assert!(r.display.ends_with('…'));
        assert_eq!(shorten("abc"), "abc");
    }
}
