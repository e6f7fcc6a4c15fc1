"""Issue 8 through the real clients: a throttled call gets a clean reply and the pool stays usable.

A tiny per_hour quota (one call) makes the second call throttled without any sleeping.
"""

import json
import re

import pytest
from pypsrp.exceptions import WSManFaultError
from pypsrp.powershell import PowerShell, RunspacePool

from gateway_stack import gateway_stack  # noqa: F401 (pytest fixture)
from test_pypsrp import wsman
from test_rest import TENANT, post

QUOTA = """
[pam]
enabled = true

[[ratelimit]]
name = "one-mailbox-an-hour"
key = "principal"
cmdlets = ["Get-Mailbox"]
per_hour = 1
"""


@pytest.fixture
def throttled(gateway_stack):  # noqa: F811
    return gateway_stack(QUOTA)


def get_mailbox(pool):
    ps = PowerShell(pool)
    ps.add_cmdlet("Get-Mailbox").add_parameter("Identity", "bob")
    ps.invoke()
    return ps


def test_pypsrp_throttled_reply_is_a_clean_fault_and_the_pool_survives(throttled):
    with wsman(throttled) as conn, RunspacePool(conn) as pool:
        get_mailbox(pool)
        with pytest.raises(WSManFaultError) as err:
            get_mailbox(pool)
        text = str(err.value)
        assert 'rate limit "one-mailbox-an-hour" was reached' in text
        assert re.search(r"Retry after \d+ (seconds?|minutes?)", text), text
        # Another cmdlet, outside the rule, still works in the same pool.
        ps = PowerShell(pool)
        ps.add_cmdlet("Get-Date")
        ps.invoke()
    assert [r["cmdlet"] for r in throttled.since(0)] == ["Get-Mailbox", "Get-Date"]


def test_rest_throttled_reply_is_429_with_retry_after_and_odata_body(throttled):
    path = f"/adminapi/beta/{TENANT}/InvokeCommand"
    call = {"CmdletInput": {"CmdletName": "Get-Mailbox", "Parameters": {"Identity": "bob"}}}
    status, _ = post(throttled, path, call)
    assert status == 200
    status, body, headers = post_with_headers(throttled, path, call)
    assert status == 429, body
    assert int(headers["Retry-After"]) > 0
    error = json.loads(body)["error"]
    assert "one-mailbox-an-hour" in json.dumps(error)
    # The next uncovered call still goes through.
    status, _ = post(throttled, path, {"CmdletInput": {"CmdletName": "Get-Date"}})
    assert status == 200
    assert [r["cmdlet"] for r in throttled.since(0)] == ["Get-Mailbox", "Get-Date"]


def post_with_headers(stack, path, body):
    """Like test_rest.post, but also returns the response headers (for Retry-After)."""
    import base64
    import ssl
    import urllib.error
    import urllib.request

    from conftest import PASSWORD, USER

    req = urllib.request.Request(stack.base_url + path, data=json.dumps(body).encode(), method="POST")
    req.add_header("Content-Type", "application/json")
    req.add_header("Authorization", "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode())
    ctx = ssl.create_default_context(cafile=str(stack.ca))
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=30) as resp:
            return resp.status, resp.read().decode(), resp.headers
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode("utf-8", "replace"), err.headers
