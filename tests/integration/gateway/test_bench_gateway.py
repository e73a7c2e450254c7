"""The gateway benchmark runs to the end on the real gateway process and reports its figures.

With ``--manager stub`` it starts only nats-server and the gateway, so it is quick;
it still goes through everything of the lean client's (signed requests over
keep-alive connections from two processes) and through the gateway's hot path
over real HTTP. Every request must be accepted: a signature the gateway saw
twice would be refused as a replay, an answer the client misread would count as
lost. Nothing is judged on time.
"""

from __future__ import annotations

import re
import subprocess
import sys

from tests.bench.projection_process import REPO_ROOT
from tests.bench.signed_load import split


def test_the_stub_run_sends_every_request_signed_once() -> None:
    small = ["--requests", "300", "--concurrency", "8", "--clients", "2"]
    done = subprocess.run(
        [sys.executable, "-m", "tests.bench", "gateway", "--manager", "stub", *small],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "== the gateway alone (a stub answers for the manager) ==" in done.stdout
    assert re.search(r"signed creates\s+\d+ /s\s+\(300 created\)", done.stdout), done.stdout
    assert "not created" not in done.stdout
    cpu = re.search(r"CPU µs per create\s+(.*)", done.stdout)
    assert cpu is not None and "gateway" in cpu[1] and "client" in cpu[1], done.stdout


def test_requests_and_connections_are_dealt_to_every_process() -> None:
    shares = split(10, 3, 8, "s-")
    assert sorted(n for share in shares for n in share.numbers) == list(range(10))
    assert [share.connections for share in shares] == [3, 3, 2]
    # Never more processes than connections: each needs one.
    assert len(split(10, 5, 2, "s-")) == 2
