use super::*;

const MINIMAL: &str = r#"
[listen]
addr = "127.0.0.1:8443"
cert = "data/certs/server.pem"
key = "data/certs/server.key"

[upstream]
url = "http://127.0.0.1:5985"
"#;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, Path::new("gateway.toml"))
}

#[test]
fn minimal_file_loads_with_defaults() {
    let c = parse(MINIMAL).unwrap();
    assert_eq!(c.limits.max_body_bytes, 16 * 1024 * 1024);
    assert!(!c.pam.enabled);
}

#[test]
fn unknown_key_names_the_key_and_the_file() {
    let text = format!("{MINIMAL}\n[limits]\nmax_body_byte = 1\n");
    let err = parse(&text).unwrap_err().to_string();
    assert!(err.contains("gateway.toml"), "{err}");
    assert!(err.contains("max_body_byte"), "{err}");
}

#[test]
fn unknown_section_is_refused() {
    let text = format!("{MINIMAL}\n[listne]\naddr = \"x\"\n");
    let err = parse(&text).unwrap_err().to_string();
    assert!(err.contains("listne"), "{err}");
}

#[test]
fn the_example_config_in_the_repository_is_valid() {
    let text = include_str!("../../gateway.example.toml");
    parse(text).unwrap();
}

#[test]
fn pam_patterns_and_accounts_are_checked_at_load() {
    let text = format!("{MINIMAL}\n[pam]\nalways_allow = [\"Get-*\", \"Get-[ab]\"]\n");
    let err = parse(&text).unwrap_err().to_string();
    assert!(err.contains("pam.always_allow[1]"), "{err}");
    let text = format!("{MINIMAL}\n[pam]\nsystem_accounts = [\"svc@contoso.com\", \" \"]\n");
    let err = parse(&text).unwrap_err().to_string();
    assert!(err.contains("pam.system_accounts[1]"), "{err}");
    let text = format!(
        "{MINIMAL}\n[groups]\ng = []\n[[policy]]\ntask = \"Exchange\\\\\"\napproval = \"auto\"\napprovers = \"g\"\n"
    );
    let err = parse(&text).unwrap_err().to_string();
    assert!(err.contains("policy[0].task"), "{err}");
}
