"""End-to-end fixtures (the browser comes from tests/browser/conftest.py): a live
`onegrid up` stack (embedded broker, simulator, engine with
rules and cases, dashboard) started once for the module, as a user starts it.

The stack's store belongs to its process (DuckDB lets one process own a file), so tests
see it only as users do: through the dashboard in the browser, and on Kafka.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

START_TIMEOUT_S = 120.0


@dataclass
class Stack:
    """A running `onegrid up`: its dashboard URL, broker, topic prefix and output so far."""

    url: str
    bootstrap: str
    prefix: str
    process: subprocess.Popen
    output: list[str]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """A live `onegrid up` on free loopback ports, with 15 simulated minutes of history."""
    folder = tmp_path_factory.mktemp("stack")
    prefix = f"e2e{uuid.uuid4().hex[:6]}."
    cmd = [sys.executable, "-m", "onegrid.cli", "up", "--db", str(folder / "node.duckdb"),
           "--port", "0", "--prefix", prefix, "--rate", "20", "--history", "900",
           "--seed", "7", "--session-timeout-ms", "6000"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env, cwd=Path(__file__).resolve().parents[2])
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(iter(proc.stdout.readline, "")),
                              daemon=True)
    reader.start()
    url = bootstrap = None
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline and proc.poll() is None and url is None:
        text = "".join(output)
        found_url = re.search(r"dashboard on (http://\S+?)login", text)
        found_broker = re.search(r"broker (\S+), store", text)
        if found_url and found_broker:
            url, bootstrap = found_url.group(1), found_broker.group(1)
        time.sleep(0.2)
    if url is None:
        proc.kill()
        pytest.fail("onegrid up did not start:\n" + "".join(output)[-3000:])
    try:
        yield Stack(url, bootstrap, prefix, proc, output)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=150)
        except subprocess.TimeoutExpired:
            proc.kill()
        reader.join(5)
