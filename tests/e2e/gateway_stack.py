"""An enforcing gateway stack per test: `certs`, `mock-upstream` and `serve --config` on port 0.

Unlike conftest's session `stack` (the permissive `dev` gateway), each stack here gets its own
TOML config (policies, modes, quotas), its own audit file and its own mock log, so one test's
decisions and forwarded calls cannot leak into another's assertions.
"""

import json
import queue
import subprocess
import textwrap
import time

import pytest

from conftest import BIN, LISTENING, Process, Stack


class GatewayStack(Stack):
    """A Stack that also knows the gateway's audit file, data directory and admin address."""

    def __init__(self, host, port, ca, log_path, audit_path, work, admin=None):
        super().__init__(host, port, True, ca, log_path)
        self.audit_path, self.work, self.admin = audit_path, work, admin

    def audit(self):
        """Every audit record the gateway wrote so far."""
        if not self.audit_path.exists():
            return []
        return [json.loads(line) for line in self.audit_path.read_text(encoding="utf-8").splitlines() if line]


def base_config(work, certs, mock_addr):
    """The config every stack shares; tests append [pam], [[policy]], [[ratelimit]], ... after it."""
    return textwrap.dedent(
        f"""\
        [listen]
        addr = "127.0.0.1:0"
        cert = "{certs / 'server.pem'}"
        key = "{certs / 'server.key'}"

        [upstream]
        url = "http://{mock_addr[0]}:{mock_addr[1]}"

        [store]
        path = "{work / 'gateway.db'}"

        [audit]
        path = "{work / 'audit.jsonl'}"
        fsync = "always"
        """
    )


ADMIN_GRACE_S = 10


def wait_admin(serve):
    """The `admin listening on ADDR` line, printed beside the gateway's when [admin] is set."""
    deadline = time.monotonic() + ADMIN_GRACE_S
    while time.monotonic() < deadline:
        try:
            line = serve.lines.get(timeout=0.2)
        except queue.Empty:
            continue
        m = LISTENING.match(line.strip())
        if m and m.group("who") == "admin":
            host, port = m.group("addr").rsplit(":", 1)
            return {"admin": (host, int(port))}
    pytest.fail(f"`serve` printed no `admin listening on ADDR` within {ADMIN_GRACE_S} s although [admin] is set")


@pytest.fixture
def gateway_stack(tmp_path):
    """A factory: `gateway_stack(extra_toml, admin=False)` starts a stack and returns a GatewayStack.

    Every process it starts is stopped at the end of the test.
    """
    started = []

    def start(extra, admin=False):
        work = tmp_path / f"stack{len(started)}"
        work.mkdir()
        certs = work / "certs"
        subprocess.run(
            [str(BIN), "certs", "--out", str(certs), "--host", "localhost", "--loopback"],
            check=True,
            capture_output=True,
        )
        log_path = work / "mock.jsonl"
        mock = Process(["mock-upstream", "--listen", "127.0.0.1:0", "--log", str(log_path)], cwd=work)
        started.append(mock)
        mock_addr = mock.wait_listening(["mock-upstream"])["mock-upstream"]
        config = work / "gateway.toml"
        config.write_text(base_config(work, certs, mock_addr) + textwrap.dedent(extra), encoding="utf-8")
        serve = Process(["serve", "--config", str(config)], cwd=work)
        started.append(serve)
        addrs = serve.wait_listening(["gateway"])
        if admin:
            addrs.update(wait_admin(serve))
        return GatewayStack(
            "localhost",
            addrs["gateway"][1],
            certs / "ca.pem",
            log_path,
            work / "audit.jsonl",
            work,
            admin=addrs.get("admin"),
        )

    yield start
    for proc in reversed(started):
        proc.stop()
