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

/// The cmdlet a built-in alias runs, if `folded` is one. `folded` must already be folded.
pub fn resolve(folded: &str) -> Option<&'static str> {
    let cmdlet = match folded {
        "?" | "where" => "Where-Object",
        "%" | "foreach" => "ForEach-Object",
        "ac" => "Add-Content",
        "asnp" => "Add-PSSnapin",
        "cat" | "gc" | "type" => "Get-Content",
        "cd" | "chdir" | "sl" | "cd.." => "Set-Location",
        "cfs" => "ConvertFrom-String",
        "clc" => "Clear-Content",
        "clear" | "cls" => "Clear-Host",
        "clhy" => "Clear-History",
        "cli" => "Clear-Item",
        "clp" => "Clear-ItemProperty",
        "clv" => "Clear-Variable",
        "cnsn" => "Connect-PSSession",
        "compare" | "diff" => "Compare-Object",
        "copy" | "cp" | "cpi" => "Copy-Item",
        "cpp" => "Copy-ItemProperty",
        "curl" | "iwr" | "wget" => "Invoke-WebRequest",
        "cvpa" => "Convert-Path",
        "dbp" => "Disable-PSBreakpoint",
        "del" | "erase" | "rd" | "ri" | "rm" | "rmdir" => "Remove-Item",
        "dir" | "gci" | "ls" => "Get-ChildItem",
        "dnsn" => "Disconnect-PSSession",
        "ebp" => "Enable-PSBreakpoint",
        "echo" | "write" => "Write-Output",
        "epal" => "Export-Alias",
        "epcsv" => "Export-Csv",
        "epsn" => "Export-PSSession",
        "etsn" => "Enter-PSSession",
        "exsn" => "Exit-PSSession",
        "fc" => "Format-Custom",
        "fhx" => "Format-Hex",
        "fl" => "Format-List",
        "ft" => "Format-Table",
        "fw" => "Format-Wide",
        "gal" => "Get-Alias",
        "gbp" => "Get-PSBreakpoint",
        "gcb" => "Get-Clipboard",
        "gcm" => "Get-Command",
        "gcs" => "Get-PSCallStack",
        "gdr" => "Get-PSDrive",
        "gerr" => "Get-Error",
        "ghy" | "h" | "history" => "Get-History",
        "gi" => "Get-Item",
        "gin" => "Get-ComputerInfo",
        "gjb" => "Get-Job",
        "gl" | "pwd" => "Get-Location",
        "gm" => "Get-Member",
        "gmo" => "Get-Module",
        "gp" => "Get-ItemProperty",
        "gps" | "ps" => "Get-Process",
        "gpv" => "Get-ItemPropertyValue",
        "group" => "Group-Object",
        "gsn" => "Get-PSSession",
        "gsnp" => "Get-PSSnapin",
        "gsv" => "Get-Service",
        "gtz" => "Get-TimeZone",
        "gu" => "Get-Unique",
        "gv" => "Get-Variable",
        "gwmi" => "Get-WmiObject",
        "help" | "man" => "Get-Help",
        "icm" => "Invoke-Command",
        "iex" => "Invoke-Expression",
        "ihy" | "r" => "Invoke-History",
        "ii" => "Invoke-Item",
        "importsystemmodules" | "ipmo" => "Import-Module",
        "ipal" => "Import-Alias",
        "ipcsv" => "Import-Csv",
        "ipsn" => "Import-PSSession",
        "irm" => "Invoke-RestMethod",
        "ise" => "powershell_ise",
        "iwmi" => "Invoke-WmiMethod",
        "kill" | "spps" => "Stop-Process",
        "lp" => "Out-Printer",
        "md" | "mkdir" | "ni" => "New-Item",
        "measure" => "Measure-Object",
        "mi" | "move" | "mv" => "Move-Item",
        "more" | "oh" => "Out-Host",
        "mount" | "ndr" => "New-PSDrive",
        "mp" => "Move-ItemProperty",
        "nal" => "New-Alias",
        "nmo" => "New-Module",
        "npssc" => "New-PSSessionConfigurationFile",
        "nsn" => "New-PSSession",
        "nv" => "New-Variable",
        "ogv" => "Out-GridView",
        "oss" => "Out-String",
        "pause" => "Read-Host",
        "popd" => "Pop-Location",
        "pushd" => "Push-Location",
        "rbp" => "Remove-PSBreakpoint",
        "rcjb" => "Receive-Job",
        "rcsn" => "Receive-PSSession",
        "rdr" => "Remove-PSDrive",
        "ren" | "rni" => "Rename-Item",
        "rjb" => "Remove-Job",
        "rmo" => "Remove-Module",
        "rnp" => "Rename-ItemProperty",
        "rp" => "Remove-ItemProperty",
        "rsn" => "Remove-PSSession",
        "rsnp" => "Remove-PSSnapin",
        "rujb" => "Resume-Job",
        "rv" => "Remove-Variable",
        "rvpa" => "Resolve-Path",
        "rwmi" => "Remove-WmiObject",
        "sajb" => "Start-Job",
        "sal" => "Set-Alias",
        "saps" | "start" => "Start-Process",
        "sasv" => "Start-Service",
        "sbp" => "Set-PSBreakpoint",
        "sc" => "Set-Content",
        "scb" => "Set-Clipboard",
        "select" => "Select-Object",
        "set" | "sv" => "Set-Variable",
        "shcm" => "Show-Command",
        "si" => "Set-Item",
        "sleep" => "Start-Sleep",
        "sls" => "Select-String",
        "sort" => "Sort-Object",
        "sp" => "Set-ItemProperty",
        "spjb" => "Stop-Job",
        "spsv" => "Stop-Service",
        "stz" => "Set-TimeZone",
        "sujb" => "Suspend-Job",
        "swmi" => "Set-WmiInstance",
        "tee" => "Tee-Object",
        "trcm" => "Trace-Command",
        "wjb" => "Wait-Job",
        _ => return None,
    };
    Some(cmdlet)
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
    fn cmdlet_names_are_not_aliases() {
        for name in ["get-mailbox", "new-journalrule", "invoke-expression", ""] {
            assert_eq!(resolve(name), None, "{name}");
        }
    }
}
