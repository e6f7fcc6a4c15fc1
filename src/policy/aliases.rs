//! PowerShell's built-in aliases, resolved to the cmdlets they run before any policy matching.
//!
//! Without this, `iex` would slip past a rule on `Invoke-Expression` and `%` past one on
//! `ForEach-Object`. The table is the union of the default aliases of Windows PowerShell 5.1 and
//! PowerShell 7 (`Get-Alias` on a fresh session), plus the built-in *functions* that only wrap a
//! cmdlet (`mkdir` runs `New-Item`, `help` runs `Get-Help`), so that a policy on the cmdlet covers
//! the wrapper too. Aliases a client defines at run time are a different problem: the cmdlets that
//! define them (`Set-Alias`, `New-Alias`, ...) are in [`super::code`]'s code-running set.
//!
//! Keys are folded with [`super::name::fold`] (so lower-case ASCII); values are the cmdlet's
//! usual spelling.

use std::collections::HashMap;
use std::sync::OnceLock;

/// Every built-in alias (folded) and the cmdlet it runs.
pub const BUILT_IN_ALIASES: &[(&str, &str)] = &[
    ("%", "ForEach-Object"),
    ("?", "Where-Object"),
    ("ac", "Add-Content"),
    ("asnp", "Add-PSSnapin"),
    ("cat", "Get-Content"),
    ("cd", "Set-Location"),
    ("cd..", "Set-Location"),
    ("cfs", "ConvertFrom-String"),
    ("chdir", "Set-Location"),
    ("clc", "Clear-Content"),
    ("clear", "Clear-Host"),
    ("clhy", "Clear-History"),
    ("cli", "Clear-Item"),
    ("clp", "Clear-ItemProperty"),
    ("cls", "Clear-Host"),
    ("clv", "Clear-Variable"),
    ("cnsn", "Connect-PSSession"),
    ("compare", "Compare-Object"),
    ("copy", "Copy-Item"),
    ("cp", "Copy-Item"),
    ("cpi", "Copy-Item"),
    ("cpp", "Copy-ItemProperty"),
    ("curl", "Invoke-WebRequest"),
    ("cvpa", "Convert-Path"),
    ("dbp", "Disable-PSBreakpoint"),
    ("del", "Remove-Item"),
    ("diff", "Compare-Object"),
    ("dir", "Get-ChildItem"),
    ("dnsn", "Disconnect-PSSession"),
    ("ebp", "Enable-PSBreakpoint"),
    ("echo", "Write-Output"),
    ("epal", "Export-Alias"),
    ("epcsv", "Export-Csv"),
    ("epsn", "Export-PSSession"),
    ("erase", "Remove-Item"),
    ("etsn", "Enter-PSSession"),
    ("exsn", "Exit-PSSession"),
    ("fc", "Format-Custom"),
    ("fhx", "Format-Hex"),
    ("fl", "Format-List"),
    ("foreach", "ForEach-Object"),
    ("ft", "Format-Table"),
    ("fw", "Format-Wide"),
    ("gal", "Get-Alias"),
    ("gbp", "Get-PSBreakpoint"),
    ("gc", "Get-Content"),
    ("gcb", "Get-Clipboard"),
    ("gci", "Get-ChildItem"),
    ("gcm", "Get-Command"),
    ("gcs", "Get-PSCallStack"),
    ("gdr", "Get-PSDrive"),
    ("gerr", "Get-Error"),
    ("ghy", "Get-History"),
    ("gi", "Get-Item"),
    ("gin", "Get-ComputerInfo"),
    ("gjb", "Get-Job"),
    ("gl", "Get-Location"),
    ("gm", "Get-Member"),
    ("gmo", "Get-Module"),
    ("gp", "Get-ItemProperty"),
    ("gps", "Get-Process"),
    ("gpv", "Get-ItemPropertyValue"),
    ("group", "Group-Object"),
    ("gsn", "Get-PSSession"),
    ("gsnp", "Get-PSSnapin"),
    ("gsv", "Get-Service"),
    ("gtz", "Get-TimeZone"),
    ("gu", "Get-Unique"),
    ("gv", "Get-Variable"),
    ("gwmi", "Get-WmiObject"),
    ("h", "Get-History"),
    ("help", "Get-Help"),
    ("history", "Get-History"),
    ("icm", "Invoke-Command"),
    ("iex", "Invoke-Expression"),
    ("ihy", "Invoke-History"),
    ("ii", "Invoke-Item"),
    ("importsystemmodules", "Import-Module"),
    ("ipal", "Import-Alias"),
    ("ipcsv", "Import-Csv"),
    ("ipmo", "Import-Module"),
    ("ipsn", "Import-PSSession"),
    ("irm", "Invoke-RestMethod"),
    ("ise", "powershell_ise"),
    ("iwmi", "Invoke-WmiMethod"),
    ("iwr", "Invoke-WebRequest"),
    ("kill", "Stop-Process"),
    ("lp", "Out-Printer"),
    ("ls", "Get-ChildItem"),
    ("man", "Get-Help"),
    ("md", "New-Item"),
    ("measure", "Measure-Object"),
    ("mi", "Move-Item"),
    ("mkdir", "New-Item"),
    ("more", "Out-Host"),
    ("mount", "New-PSDrive"),
    ("move", "Move-Item"),
    ("mp", "Move-ItemProperty"),
    ("mv", "Move-Item"),
    ("nal", "New-Alias"),
    ("ndr", "New-PSDrive"),
    ("ni", "New-Item"),
    ("nmo", "New-Module"),
    ("npssc", "New-PSSessionConfigurationFile"),
    ("nsn", "New-PSSession"),
    ("nv", "New-Variable"),
    ("ogv", "Out-GridView"),
    ("oh", "Out-Host"),
    ("oss", "Out-String"),
    ("pause", "Read-Host"),
    ("popd", "Pop-Location"),
    ("ps", "Get-Process"),
    ("pushd", "Push-Location"),
    ("pwd", "Get-Location"),
    ("r", "Invoke-History"),
    ("rbp", "Remove-PSBreakpoint"),
    ("rcjb", "Receive-Job"),
    ("rcsn", "Receive-PSSession"),
    ("rd", "Remove-Item"),
    ("rdr", "Remove-PSDrive"),
    ("ren", "Rename-Item"),
    ("ri", "Remove-Item"),
    ("rjb", "Remove-Job"),
    ("rm", "Remove-Item"),
    ("rmdir", "Remove-Item"),
    ("rmo", "Remove-Module"),
    ("rni", "Rename-Item"),
    ("rnp", "Rename-ItemProperty"),
    ("rp", "Remove-ItemProperty"),
    ("rsn", "Remove-PSSession"),
    ("rsnp", "Remove-PSSnapin"),
    ("rujb", "Resume-Job"),
    ("rv", "Remove-Variable"),
    ("rvpa", "Resolve-Path"),
    ("rwmi", "Remove-WmiObject"),
    ("sajb", "Start-Job"),
    ("sal", "Set-Alias"),
    ("saps", "Start-Process"),
    ("sasv", "Start-Service"),
    ("sbp", "Set-PSBreakpoint"),
    ("sc", "Set-Content"),
    ("scb", "Set-Clipboard"),
    ("select", "Select-Object"),
    ("set", "Set-Variable"),
    ("shcm", "Show-Command"),
    ("si", "Set-Item"),
    ("sl", "Set-Location"),
    ("sleep", "Start-Sleep"),
    ("sls", "Select-String"),
    ("sort", "Sort-Object"),
    ("sp", "Set-ItemProperty"),
    ("spjb", "Stop-Job"),
    ("spps", "Stop-Process"),
    ("spsv", "Stop-Service"),
    ("start", "Start-Process"),
    ("stz", "Set-TimeZone"),
    ("sujb", "Suspend-Job"),
    ("sv", "Set-Variable"),
    ("swmi", "Set-WmiInstance"),
    ("tee", "Tee-Object"),
    ("trcm", "Trace-Command"),
    ("type", "Get-Content"),
    ("wget", "Invoke-WebRequest"),
    ("where", "Where-Object"),
    ("wjb", "Wait-Job"),
    ("write", "Write-Output"),
];

/// The cmdlet a built-in alias runs, if `folded` is one. `folded` must already be folded.
pub fn resolve(folded: &str) -> Option<&'static str> {
    static TABLE: OnceLock<HashMap<&'static str, &'static str>> = OnceLock::new();
    let table = TABLE.get_or_init(|| BUILT_IN_ALIASES.iter().copied().collect());
    table.get(folded).copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::name::fold;

    #[test]
    fn code_running_aliases_resolve() {
        assert_eq!(resolve("iex"), Some("Invoke-Expression"));
        assert_eq!(resolve("icm"), Some("Invoke-Command"));
        assert_eq!(resolve("%"), Some("ForEach-Object"));
        assert_eq!(resolve("foreach"), Some("ForEach-Object"));
        assert_eq!(resolve("?"), Some("Where-Object"));
        assert_eq!(resolve("where"), Some("Where-Object"));
        assert_eq!(resolve("sajb"), Some("Start-Job"));
        assert_eq!(resolve("gcm"), Some("Get-Command"));
        assert_eq!(resolve("r"), Some("Invoke-History"));
    }

    #[test]
    fn resolution_happens_on_the_folded_key() {
        assert_eq!(resolve(&fold("IEX")), Some("Invoke-Expression"));
        assert_eq!(resolve(&fold("\u{131}ex")), Some("Invoke-Expression"));
        assert_eq!(resolve("Invoke-Expression"), None);
    }

    #[test]
    fn the_table_is_folded_and_has_no_duplicates() {
        let mut seen = std::collections::HashSet::new();
        for (alias, cmdlet) in BUILT_IN_ALIASES {
            assert_eq!(fold(alias), *alias, "{alias} must be stored folded");
            assert!(seen.insert(*alias), "duplicate alias {alias}");
            assert!(!cmdlet.is_empty());
        }
        assert!(BUILT_IN_ALIASES.len() > 150);
    }

    #[test]
    fn cmdlet_names_are_not_aliases() {
        for name in ["get-mailbox", "new-journalrule", "invoke-expression", ""] {
            assert_eq!(resolve(name), None, "{name}");
        }
    }
}
