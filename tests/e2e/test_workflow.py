"""Issue 6 end to end: refused, requested with the CLI, mailed through a real SMTP server
(aiosmtpd), approved by someone else, used through pypsrp, revoked, refused again.

Also covers "grant and expiry": the API's shortest grant is whole hours (`--hours`), so expiry is
exercised with `request revoke`, which ends the grant now, instead of waiting an hour.
"""

import email
import hashlib
import json
import os
import queue
import subprocess

import pytest
from aiosmtpd.controller import Controller
from pypsrp.exceptions import WSManFaultError
from pypsrp.powershell import PowerShell, RunspacePool

from conftest import BIN, USER
from gateway_stack import gateway_stack  # noqa: F401 (pytest fixture)
from test_enforcement import POLICY, cmdlets_logged, run_journal_rule
from test_pypsrp import wsman

APPROVER, OUTSIDER = "bob@contoso.com", "dave@contoso.com"
TOKENS = {USER: "alice-token", APPROVER: "bob-token", OUTSIDER: "dave-token"}
MAIL_TIMEOUT_S = 30


class Inbox:
    """aiosmtpd handler: every delivered message, parsed, in a queue."""

    def __init__(self):
        self.messages = queue.Queue()

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content)
        self.messages.put((envelope.rcpt_tos, msg["Subject"], msg.get_payload(decode=True).decode("utf-8")))
        return "250 OK"

    def next(self):
        return self.messages.get(timeout=MAIL_TIMEOUT_S)


class PortZeroController(Controller):
    """aiosmtpd's Controller, bound to port 0: its start-up self-test connects to the real port."""

    def _trigger_server(self):
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = PortZeroController(inbox, hostname="127.0.0.1", port=0)
    controller.start()
    yield inbox, controller.port
    controller.stop()


def admin_config(smtp_port):
    tokens = "".join(
        f'\n[[admin.token]]\nprincipal = "{who}"\nsha256 = "{hashlib.sha256(t.encode()).hexdigest()}"\n'
        for who, t in TOKENS.items()
    )
    users = "".join(f'\n[users."{who}"]\nemail = "{who}"\n' for who in TOKENS)
    return (
        POLICY.format(mode="enforce")
        + '\n[admin]\naddr = "127.0.0.1:0"\n'
        + tokens
        + users
        + f'\n[notify.smtp]\nhost = "127.0.0.1"\nport = {smtp_port}\ntls = "none"\nfrom = "pam@contoso.com"\n'
    )


def cli(stack, who, *args):
    env = dict(os.environ)
    env.update(
        RUNSPACE_GATEWAY_ADMIN=f"https://localhost:{stack.admin[1]}",
        RUNSPACE_GATEWAY_TOKEN=TOKENS[who],
    )
    return subprocess.run(
        [str(BIN), *args, "--ca", str(stack.ca)], env=env, capture_output=True, text=True, timeout=60
    )


def test_request_mail_approve_use_revoke(gateway_stack, smtp):  # noqa: F811
    inbox, port = smtp
    stack = gateway_stack(admin_config(port), admin=True)
    with wsman(stack) as conn, RunspacePool(conn) as pool:
        with pytest.raises(WSManFaultError):
            run_journal_rule(pool)

        new = cli(stack, USER, "request", "new", "--task", "New-JournalRule",
                  "--reason", "journal for legal hold", "--hours", "1", "--json")
        assert new.returncode == 0, new.stderr
        request_id = json.loads(new.stdout)["id"]

        to, subject, body = inbox.next()
        assert to == [APPROVER] or APPROVER in to
        for fact in (USER, "New-JournalRule", "journal for legal hold", "1 h",
                     f"runspace-gateway request approve {request_id}",
                     f"runspace-gateway request deny {request_id}"):
            assert fact in subject + body, fact

        selfish = cli(stack, USER, "request", "approve", request_id, "--comment", "me")
        assert selfish.returncode != 0
        outsider = cli(stack, OUTSIDER, "request", "approve", request_id, "--comment", "me")
        assert outsider.returncode != 0
        with pytest.raises(WSManFaultError):
            run_journal_rule(pool)

        approved = cli(stack, APPROVER, "request", "approve", request_id, "--comment", "ok")
        assert approved.returncode == 0, approved.stderr
        to, subject, body = next_mail_to(inbox, USER)
        assert "approved" in subject + body and APPROVER in body

        run_journal_rule(pool)
        assert cmdlets_logged(stack) == ["New-JournalRule"]

        revoked = cli(stack, APPROVER, "request", "revoke", request_id)
        assert revoked.returncode == 0, revoked.stderr
        with pytest.raises(WSManFaultError):
            run_journal_rule(pool)
        ps = PowerShell(pool)
        ps.add_cmdlet("Get-Date")
        ps.invoke()
    assert cmdlets_logged(stack) == ["New-JournalRule", "Get-Date"]


def next_mail_to(inbox, who):
    """The next message addressed to who (approvers may get a copy of the outcome too)."""
    while True:
        to, subject, body = inbox.next()
        if who in to:
            return to, subject, body
