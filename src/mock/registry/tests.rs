use super::*;
use crate::mock::shells::Shell;

fn shell(id: &str) -> Shell {
    Shell::new(id.to_owned(), "u".to_owned(), None)
}

#[test]
fn shells_are_capped_at_max_shells_and_ids_are_unique() {
    let shells = Shells::default();
    for i in 0..MAX_SHELLS {
        assert!(shells.insert(format!("S{i}"), shell("x")));
    }
    assert_eq!(shells.len(), MAX_SHELLS);
    assert!(
        !shells.insert("ONE-MORE".into(), shell("x")),
        "over the cap"
    );
    shells.remove("S0");
    assert!(!shells.insert("S1".into(), shell("x")), "an existing id");
    assert!(
        shells.insert("ONE-MORE".into(), shell("x")),
        "room again after a delete"
    );
}

#[test]
fn shell_lookup_ignores_case_as_windows_does() {
    let shells = Shells::default();
    assert!(shells.insert("11AC8B01-5D0D".into(), shell("x")));
    assert!(shells.get("11ac8b01-5d0d").is_some());
    shells.remove("11ac8b01-5d0d");
    assert!(shells.is_empty());
}
