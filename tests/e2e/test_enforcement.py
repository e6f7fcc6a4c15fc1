"""Issue 5 through the real pypsrp client and a plain REST client: the enforcing gateway (`serve`).

Each test starts its own stack (gateway_stack) so its policy, mode and logs are its own. The
mock's log proves whether a command reached the endpoint: a refused one must never appear there.
"""

import hashlib

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


TERMINATE = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/terminate"


def cmdlets_logged(stack, mark=0):
    """The commands that ran on the mock (its log also records Signals that ended a command)."""
    return [r["cmdlet"] for r in stack.since(mark) if "cmdlet" in r]


def signals_logged(stack, mark=0):
    """The Signals that ended a command on the mock before it ran."""
    return [r for r in stack.since(mark) if "signal" in r]


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


def test_pool_survives_a_refusal(enforcing):
    with wsman(enforcing) as conn, RunspacePool(conn) as pool:
        with pytest.raises(WSManFaultError):
            run_journal_rule(pool)
        ps = PowerShell(pool)
        ps.add_cmdlet("Get-Mailbox").add_parameter("Identity", "bob@contoso.com")
        ps.invoke()
        assert not ps.had_errors
    assert cmdlets_logged(enforcing) == ["Get-Mailbox"]


def test_shadow_mode_forwards_and_audits_the_would_be_denial(gateway_stack):  # noqa: F811
    stack = gateway_stack(POLICY.format(mode="shadow"))
    with wsman(stack) as conn, RunspacePool(conn) as pool:
        run_journal_rule(pool)
    assert cmdlets_logged(stack) == ["New-JournalRule"]
    decisions = [r for r in stack.audit() if r.get("event") == "decision"]
    shadow = [r for r in decisions if r["decision"] == "shadow-deny"]
    assert len(shadow) == 1, decisions
    assert shadow[0]["cmdlets"][0]["name"] == "New-JournalRule"
    assert shadow[0]["policy_id"] == "C-1"


def test_system_account_passes(enforcing):
    with wsman(enforcing) as conn:
        conn.transport.username = SYSTEM
        with RunspacePool(conn) as pool:
            run_journal_rule(pool)
    logged = enforcing.since(0)
    assert [(r["user"], r["cmdlet"]) for r in logged] == [(SYSTEM, "New-JournalRule")]


def refused_and_nothing_ran(stack, build):
    """Build an invocation with build(ps); assert the gateway refuses it and the pool stays usable."""
    with wsman(stack) as conn, RunspacePool(conn) as pool:
        ps = PowerShell(pool)
        build(ps)
        with pytest.raises(WSManFaultError) as err:
            ps.invoke()
        after = PowerShell(pool)
        after.add_cmdlet("Get-Date")
        after.invoke()
    assert cmdlets_logged(stack) == ["Get-Date"]
    return refusal_text(err)


def test_script_is_refused(enforcing):
    text = refused_and_nothing_ran(enforcing, lambda ps: ps.add_script("New-JournalRule -Name j1"))
    assert 'scripts = "deny"' in text


def test_code_as_script_block_argument_is_refused(enforcing):
    # pypsrp serializes the -ScriptBlock value as a string; the gateway refuses the code-running
    # cmdlet whatever the argument's type.
    text = refused_and_nothing_ran(
        enforcing,
        lambda ps: ps.add_cmdlet("Invoke-Command").add_parameter("ScriptBlock", "New-JournalRule -Name j1"),
    )
    assert "Invoke-Command runs a script block" in text


def test_code_through_iex_alias_is_refused(enforcing):
    text = refused_and_nothing_ran(
        enforcing, lambda ps: ps.add_cmdlet("iex").add_argument("New-JournalRule -Name j1")
    )
    assert "Invoke-Expression (called as iex)" in text


def test_second_statement_in_extra_cmds_is_caught(enforcing):
    def build(ps):
        ps.add_cmdlet("Get-Mailbox").add_parameter("Identity", "bob")
        ps.add_statement()
        ps.add_cmdlet("New-JournalRule").add_parameter("Name", "j1")

    text = refused_and_nothing_ran(enforcing, build)
    assert "New-JournalRule requires approval" in text


def test_fragmented_large_pipeline_is_caught_at_its_last_fragment(enforcing):
    big = "x" * 1_000_000  # far over pypsrp's max envelope size, so it is sent in many fragments
    ids = []

    def build(ps):
        ids.append(str(ps.id).upper())
        ps.add_cmdlet("Get-Mailbox").add_parameter("Identity", big)
        ps.add_cmdlet("New-JournalRule").add_parameter("Name", "j1")

    text = refused_and_nothing_ran(enforcing, build)
    assert "New-JournalRule requires approval" in text
    # The endpoint held the half-built pipeline (its first fragments went on): the gateway ended
    # it with its own Signal terminate, once, and it never started.
    (signal,) = signals_logged(enforcing)
    assert signal["signal"] == TERMINATE
    assert signal["stage"] == "incomplete"
    assert signal["command_id"] == ids[0]
    assert signal["user"] == USER
    # The refusal's audit record keeps the 1 MB argument as its size, digest and first bytes.
    (deny,) = [r for r in enforcing.audit() if r.get("decision") == "deny"]
    identity = deny["cmdlets"][0]["params"]["Identity"]
    digest = hashlib.sha256(big.encode()).hexdigest()
    assert identity == f"[truncated: 1000000 bytes, sha256 {digest}] {'x' * 256}..."


def test_another_principal_cannot_use_someone_elses_shell(enforcing):
    with wsman(enforcing) as conn, RunspacePool(conn) as pool:
        with wsman(enforcing) as mallory:
            mallory.transport.username = "mallory@contoso.com"
            owner_wsman = pool.shell.wsman
            pool.shell.wsman = mallory  # same shell id, different Basic credentials
            ps = PowerShell(pool)
            ps.add_cmdlet("Get-Mailbox").add_parameter("Identity", "bob")
            with pytest.raises(WSManFaultError) as err:
                ps.invoke()
            pool.shell.wsman = owner_wsman
        assert "was opened by another user; mallory@contoso.com may not use it" in refusal_text(err)
        ps = PowerShell(pool)
        ps.add_cmdlet("Get-Date")
        ps.invoke()
    assert [(r["user"], r["cmdlet"]) for r in enforcing.since(0)] == [(USER, "Get-Date")]


def test_rest_covered_cmdlet_gets_a_403_odata_body(enforcing):
    status, body = post(
        enforcing,
        f"/adminapi/beta/{TENANT}/InvokeCommand",
        {"CmdletInput": {"CmdletName": "New-JournalRule", "Parameters": {"Name": "j1"}}},
    )
    assert status == 403
    error = __import__("json").loads(body)["error"]
    assert error["code"] == "Forbidden"
    assert "policy C-1" in error["details"][0]["message"]
    assert "runspace-gateway request new" in error["details"][0]["message"]
    assert enforcing.since(0) == []


def test_rest_batch_with_a_covered_cmdlet_is_refused(enforcing):
    requests = [
        {"id": str(i), "method": "POST",
         "url": f"https://outlook.office365.com/adminapi/beta/{TENANT}/InvokeCommand",
         "body": {"CmdletInput": {"CmdletName": name, "Parameters": {"Name": "j1"}}}}
        for i, name in enumerate(["Get-Mailbox", "New-JournalRule"])
    ]
    status, body = post(enforcing, f"/adminapi/beta/{TENANT}/$batch", {"requests": requests})
    assert status == 403, body
    assert "New-JournalRule" not in cmdlets_logged(enforcing)
