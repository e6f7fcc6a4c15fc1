"""Issue 5 through the real pypsrp client and a plain REST client: the enforcing gateway (`serve`).

Each test starts its own stack (gateway_stack) so its policy, mode and logs are its own. The
mock's log proves whether a command reached the endpoint: a refused one must never appear there.
"""

import pytest
from pypsrp.exceptions import WSManFaultError
from pypsrp.powershell import PowerShell, RunspacePool

from conftest import PASSWORD, USER
from gateway_stack import gateway_stack  # noqa: F401 (pytest fixture)
from test_pypsrp import wsman
from test_rest import TENANT, post

SYSTEM = "svc-backup@contoso.com"

POLICY = """
[pam]
enabled = true
mode = "{mode}"
default = "allow"
scripts = "deny"
system_accounts = ["svc-backup@contoso.com"]

[groups]
pam-approvers = ["bob@contoso.com", "carol@contoso.com"]

[[policy]]
task = "New-JournalRule"
approval = "manual"
approvers = "pam-approvers"
max_hours = 8
"""


@pytest.fixture
def enforcing(gateway_stack):  # noqa: F811
    return gateway_stack(POLICY.format(mode="enforce"))


def cmdlets_logged(stack, mark=0):
    return [r["cmdlet"] for r in stack.since(mark)]


def refusal_text(err):
    """What pypsrp shows the user for a refused invocation."""
    return str(err.value)


def run_journal_rule(pool):
    ps = PowerShell(pool)
    ps.add_cmdlet("New-JournalRule").add_parameter("Name", "j1").add_parameter("Recipient", "x@contoso.com")
    return ps.invoke()


def test_uncovered_cmdlet_passes(enforcing):
    with wsman(enforcing) as conn, RunspacePool(conn) as pool:
        ps = PowerShell(pool)
        ps.add_cmdlet("Get-Mailbox").add_parameter("Identity", "bob@contoso.com")
        ps.invoke()
        assert not ps.had_errors
    assert cmdlets_logged(enforcing) == ["Get-Mailbox"]


def test_covered_cmdlet_is_refused_cleanly_and_never_arrives(enforcing):
    with wsman(enforcing) as conn, RunspacePool(conn) as pool:
        with pytest.raises(WSManFaultError) as err:
            run_journal_rule(pool)
    text = refusal_text(err)
    assert "New-JournalRule requires approval" in text
    assert "policy C-1" in text
    assert "pam-approvers" in text
    assert "runspace-gateway request new" in text
    assert "New-JournalRule" not in cmdlets_logged(enforcing)
