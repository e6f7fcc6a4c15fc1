"""The real pypsrp client (RunspacePool + PowerShell) through the gateway to the mock endpoint.

Every test compares what pypsrp was asked to send with what the mock endpoint logged.
"""

import random
import string

import pytest
from pypsrp.exceptions import WSManFaultError
from pypsrp.powershell import PowerShell, PSInvocationState, RunspacePool, RunspacePoolState
from pypsrp.shell import WinRS
from pypsrp.wsman import WSMan

from conftest import PASSWORD, USER


def wsman(stack):
    return WSMan(
        stack.host,
        port=stack.port,
        path="wsman",
        ssl=stack.tls,
        auth="basic",
        username=USER,
        password=PASSWORD,
        cert_validation=str(stack.ca) if stack.tls else False,
        encryption="auto" if stack.tls else "never",
        operation_timeout=20,
    )


def record(cmdlet, params=None, positional=None, pool=None, ps=None, module=None):
    """The line the mock logs for one command pypsrp sent."""
    return {
        "user": USER,
        "protocol": "winrm",
        "cmdlet": cmdlet,
        "module": module,
        "params": params or {},
        "positional": positional or [],
        "is_script": False,
        "shell_id": pool.id.upper(),
        "command_id": ps.id.upper(),
        "tenant": None,
    }


def output_of(obj):
    """A PSCustomObject from the mock, as pypsrp deserialized it."""
    return obj.extended_properties


@pytest.fixture
def pool(stack):
    with wsman(stack) as conn:
        with RunspacePool(conn) as rp:
            yield rp


def test_open_and_close_a_pool(stack):
    with wsman(stack) as conn:
        rp = RunspacePool(conn)
        rp.open()
        assert rp.state == RunspacePoolState.OPENED
        assert rp.is_alive()
        shell_id = rp.id.upper()
        rp.close()
        assert rp.state == RunspacePoolState.CLOSED
        # The endpoint really deleted the shell: using its id again is "no such shell".
        stale = WinRS(conn, "http://schemas.microsoft.com/powershell/Microsoft.PowerShell", id=shell_id)
        with pytest.raises(WSManFaultError) as err:
            stale.receive("stdout")
        assert err.value.code == 2150858843


def test_cmdlet_with_parameters(stack, pool):
    mark = stack.mark()
    ps = PowerShell(pool)
    ps.add_cmdlet("Get-Mailbox").add_parameter("Identity", "bob@contoso.com").add_parameter("ResultSize", 1000)
    out = ps.invoke()
    assert ps.state == PSInvocationState.COMPLETED and not ps.had_errors
    expected = record("Get-Mailbox", {"Identity": "bob@contoso.com", "ResultSize": 1000}, pool=pool, ps=ps)
    assert stack.since(mark) == [expected]
    assert len(out) == 1
    got = output_of(out[0])
    assert got["cmdlet"] == "Get-Mailbox"
    assert got["params"] == {"Identity": "bob@contoso.com", "ResultSize": 1000}
    assert got["user"] == USER and got["protocol"] == "winrm"
    ps.close()


def test_switch_parameters_and_positional_arguments(stack, pool):
    mark = stack.mark()
    ps = PowerShell(pool)
    # pypsrp sends a bare switch as {N:"Force", V:Nil}; an explicit one as {N:"Confirm", V:false}.
    ps.add_cmdlet("Exchange\\Remove-Mailbox").add_parameter("Force").add_parameter("Confirm", False)
    ps.add_argument("positional-one").add_argument(2)
    ps.invoke()
    assert ps.state == PSInvocationState.COMPLETED
    # The switch arrives as pypsrp sent it, a null value (PowerShell binds a null switch as
    # present); the module qualifier is split off the name.
    expected = record("Remove-Mailbox", {"Force": None, "Confirm": False}, ["positional-one", 2],
                      pool=pool, ps=ps, module="Exchange")
    assert stack.since(mark) == [expected]
    ps.close()


def test_several_pipelines_and_statements_in_one_pool(stack, pool):
    mark = stack.mark()
    expected = []
    for i in range(3):
        ps = PowerShell(pool)
        ps.add_cmdlet("Get-User").add_parameter("Identity", f"user{i}")
        ps.invoke()
        expected.append(record("Get-User", {"Identity": f"user{i}"}, pool=pool, ps=ps))
        ps.close()
    ps = PowerShell(pool)
    ps.add_cmdlet("Get-Mailbox").add_parameter("Identity", "a")
    ps.add_cmdlet("Set-Mailbox").add_parameter("HiddenFromAddressListsEnabled", True)
    ps.add_statement()
    ps.add_cmdlet("Get-Recipient")
    out = ps.invoke()
    expected += [
        record("Get-Mailbox", {"Identity": "a"}, pool=pool, ps=ps),
        record("Set-Mailbox", {"HiddenFromAddressListsEnabled": True}, pool=pool, ps=ps),
        record("Get-Recipient", pool=pool, ps=ps),
    ]
    assert len(out) == 3
    assert stack.since(mark) == expected
    assert len({r["shell_id"] for r in expected}) == 1
    assert len({r["command_id"] for r in expected}) == 4
    ps.close()


def test_a_one_megabyte_parameter_spans_fragments_and_send_requests(stack, pool, monkeypatch):
    sends = []
    real_send = WinRS.send

    def counting_send(self, stream, data, command_id=None, end=None):
        sends.append((command_id, len(data)))
        return real_send(self, stream, data, command_id=command_id, end=end)

    monkeypatch.setattr(WinRS, "send", counting_send)
    rng = random.Random(7)
    big = "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(1024 * 1024))
    mark = stack.mark()
    ps = PowerShell(pool)
    ps.add_cmdlet("Set-Mailbox").add_parameter("Identity", "big").add_parameter("Notes", big)
    out = ps.invoke()
    assert ps.state == PSInvocationState.COMPLETED
    pipeline_sends = [s for s in sends if s[0] is not None]
    assert len(pipeline_sends) >= 2, f"pypsrp sent the pipeline in {len(pipeline_sends)} Send requests"
    (got,) = stack.since(mark)
    assert got == record("Set-Mailbox", {"Identity": "big", "Notes": big}, pool=pool, ps=ps)
    assert output_of(out[0])["params"]["Notes"] == big
    ps.close()


UNICODE_VALUES = [
    "こんにちは世界",
    "emoji 😀 and astral 𐐷 𝄞",
    "control \n\r\t \x01 \x7f",
    "looks escaped _x0041_ and _x005F_",
    "xml <tag attr=\"v\"> & 'apos'",
    "rtl עברית العربية",
    "",
]


@pytest.mark.parametrize("value", UNICODE_VALUES, ids=range(len(UNICODE_VALUES)))
def test_unicode_values_arrive_unchanged(stack, pool, value):
    mark = stack.mark()
    ps = PowerShell(pool)
    ps.add_cmdlet("Set-User").add_parameter("DisplayName", value).add_argument(value)
    out = ps.invoke()
    assert ps.state == PSInvocationState.COMPLETED
    (got,) = stack.since(mark)
    assert got["params"] == {"DisplayName": value}
    assert got["positional"] == [value]
    assert output_of(out[0])["params"]["DisplayName"] == value
    ps.close()


def test_a_pipeline_with_input_runs_when_the_input_ends(stack, pool):
    mark = stack.mark()
    ps = PowerShell(pool)
    ps.add_cmdlet("Set-Mailbox").add_parameter("HiddenFromAddressListsEnabled", True)
    out = ps.invoke(input=["alice", "bob"])
    assert ps.state == PSInvocationState.COMPLETED
    assert stack.since(mark) == [record("Set-Mailbox", {"HiddenFromAddressListsEnabled": True}, pool=pool, ps=ps)]
    assert len(out) == 1
    ps.close()
