"""Fixtures: one running stack (gateway over TLS in front of the mock endpoint) per test session.

By default the stack is `runspace-gateway dev` with both ports 0 and its own data directory.
E2E_TARGET=mock runs the same tests against the mock endpoint alone (plain HTTP), which tells a
gateway bug from a mock bug.
"""

import json
import os
import pathlib
import queue
import re
import subprocess
import threading
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(os.environ.get("RUNSPACE_GATEWAY_BIN", ROOT / "target" / "debug" / "runspace-gateway"))
TARGET = os.environ.get("E2E_TARGET", "gateway")
STARTUP_TIMEOUT_S = 60
USER, PASSWORD = "alice@contoso.com", "correct horse"

LISTENING = re.compile(r"^(?:(?P<who>[\w-]+) )?listening on (?P<addr>\S+)")


class Process:
    """A child process whose stdout lines are collected by a thread, so we can wait for one."""

    def __init__(self, args, cwd):
        self.args = args
        self.proc = subprocess.Popen(
            [str(BIN), *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.lines = queue.Queue()
        self.stdout = []
        self.stderr = []
        threading.Thread(target=self._pump, args=(self.proc.stdout, self.stdout, True), daemon=True).start()
        threading.Thread(target=self._pump, args=(self.proc.stderr, self.stderr, False), daemon=True).start()

    def _pump(self, stream, sink, to_queue):
        for line in stream:
            sink.append(line)
            if to_queue:
                self.lines.put(line)

    def wait_listening(self, names):
        """Wait for a `NAME listening on ADDR` line per name; return {name: (host, port)}."""
        found = {}
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while set(names) - set(found):
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None:
                self.stop()
                raise RuntimeError(
                    f"{BIN} {' '.join(self.args)} did not report listening on {names} "
                    f"(exit {self.proc.poll()}).\nstdout:\n{''.join(self.stdout)}\nstderr:\n{''.join(self.stderr)}"
                )
            try:
                line = self.lines.get(timeout=min(left, 0.5))
            except queue.Empty:
                continue
            m = LISTENING.match(line.strip())
            if m:
                host, port = m.group("addr").rsplit(":", 1)
                found[m.group("who") or names[0]] = (host, int(port))
        return found

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Stack:
    """Where the client connects, and what the mock endpoint logged."""

    def __init__(self, host, port, tls, ca, log_path):
        self.host, self.port, self.tls, self.ca, self.log_path = host, port, tls, ca, log_path

    @property
    def base_url(self):
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    def log(self):
        """Every record the mock logged so far, in order."""
        if not self.log_path.exists():
            return []
        return [json.loads(line) for line in self.log_path.read_text(encoding="utf-8").splitlines()]

    def mark(self):
        return len(self.log())

    def since(self, mark):
        return self.log()[mark:]


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    if not BIN.exists():
        pytest.fail(f"{BIN} is missing; build it with `cargo build` (tests/e2e/run.sh does)")
    work = tmp_path_factory.mktemp("stack")
    log_path = work / "mock.jsonl"
    if TARGET == "mock":
        proc = Process(["mock-upstream", "--listen", "127.0.0.1:0", "--log", str(log_path)], cwd=work)
        addr = proc.wait_listening(["mock-upstream"])["mock-upstream"]
        yield Stack(addr[0], addr[1], False, None, log_path)
    else:
        data = work / "data"
        args = ["dev", "--data", str(data), "--gateway-port", "0", "--mock-port", "0", "--mock-log", str(log_path)]
        proc = Process(args, cwd=work)
        addrs = proc.wait_listening(["mock-upstream", "gateway"])
        # The dev certificate names localhost; connect by that name so TLS verification is real.
        yield Stack("localhost", addrs["gateway"][1], True, data / "certs" / "ca.pem", log_path)
    proc.stop()
