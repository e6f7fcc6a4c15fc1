"""A second independent client: psrp-rs (crates.io), built from tests/psrp_rs when
E2E_PSRP_RS=1 (tests/e2e/run.sh builds it and sets PSRP_RS_CLIENT)."""

import os
import subprocess

import pytest

from conftest import PASSWORD, USER

CLIENT = os.environ.get("PSRP_RS_CLIENT")


@pytest.mark.skipif(not CLIENT, reason="set E2E_PSRP_RS=1 for tests/e2e/run.sh to build the psrp-rs client")
def test_psrp_rs_runs_a_pipeline_through_the_gateway(stack):
    if not stack.tls:
        pytest.skip("the psrp-rs client speaks HTTPS only")
    mark = stack.mark()
    value = "bob@contoso.com ünïcödé 😀"
    result = subprocess.run(
        [CLIENT, stack.host, str(stack.port), USER, PASSWORD, value],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    printed = dict(line.split("=", 1) for line in result.stdout.splitlines())
    close = printed.pop("close")
    (got,) = stack.since(mark)
    assert got["cmdlet"] == "Get-Mailbox" and got["protocol"] == "winrm" and got["user"] == USER
    # psrp-rs sends a switch as {N:"Force", V:true} and the positional as an I32.
    assert got["params"] == {"Identity": value, "Force": True}
    assert got["positional"] == [42]
    assert printed == {"outputs": "1", "cmdlet": "Get-Mailbox", "command_id": got["command_id"],
                       "shell_id": got["shell_id"], "user": USER}
    # psrp-rs closes with CloseRunspacePool (0x0002100E), a message MS-PSRP does not define.
    # The mock ignores it; the gateway, failing closed, refuses it. Either way psrp-rs then
    # deletes the shell.
    if close != "ok":
        assert "0x0002100E" in close and "not a client-to-server message this gateway allows" in close, close
