"""A managed server that never becomes ready, or dies while starting.

Each fake server starts a helper process (as vLLM and SGLang do) and writes its own pid,
so the test can check that the whole process group is gone afterwards. The wait is
bounded, the message says what happened, and nothing is left running.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from app.engines.managed_server import ManagedServer, ServerStartError, free_port, group_alive

from .conftest import record

PY = sys.executable
ROOT = Path(__file__).resolve().parents[2]

# {behaviour} is filled per case; every server first starts a helper that ignores SIGTERM.
FAKE_SERVER = """
import os, signal, socket, subprocess, sys, time
port = int(sys.argv[1])
helper = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(300)"
subprocess.Popen([sys.executable, "-c", helper])
print("loading model shards", flush=True)
{behaviour}
"""

BEHAVIOURS = {
    # Accepts connections and never answers: each probe times out.
    "silent": """
sock = socket.socket(); sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind(("127.0.0.1", port)); sock.listen(16)
held = []
while True:
    conn, _ = sock.accept(); held.append(conn)
""",
    # Answers every request with 503 "still loading", forever.
    "busy": """
from http.server import BaseHTTPRequestHandler, HTTPServer
class Busy(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(503); self.end_headers(); self.wfile.write(b"loading")
HTTPServer(("127.0.0.1", port), Busy).serve_forever()
""",
    # Nothing listens: the port stays closed.
    "closed": "time.sleep(300)",
    # Exits with an error during startup; its helper lives on.
    "exits": """
time.sleep(0.5)
print("RuntimeError: CUDA out of memory", flush=True)
sys.exit(1)
""",
    # Killed by a signal during startup (the OOM killer, say); its helper lives on.
    "killed": """
time.sleep(0.5)
os.kill(os.getpid(), signal.SIGKILL)
""",
}
NEVER_READY = ("silent", "busy", "closed")
READY_TIMEOUT_S = 3.0


def _server(tmp_path: Path, behaviour: str, port: int) -> ManagedServer:
    script = tmp_path / f"{behaviour}_server.py"
    script.write_text(FAKE_SERVER.format(behaviour=textwrap.dedent(BEHAVIOURS[behaviour])))
    return ManagedServer(f"{PY} {script} {{port}} {{model}}", model="m", port=port)


def _gone(pgid: int, timeout_s: float = 10) -> bool:
    deadline = time.monotonic() + timeout_s
    while group_alive(pgid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.mark.parametrize("behaviour", sorted(BEHAVIOURS))
def test_bounded_wait_clear_message_no_process_left(tmp_path: Path, behaviour: str) -> None:
    server = _server(tmp_path, behaviour, free_port())
    server.start()
    pgid = server.pid or 0
    started = time.monotonic()
    try:
        with pytest.raises(ServerStartError) as caught:
            server.wait_until_ready(timeout_s=READY_TIMEOUT_S, poll_s=0.1)
    finally:
        waited = time.monotonic() - started
        gone = _gone(pgid)
        server.stop(grace_s=1)
    message = str(caught.value)
    # One probe may be in flight when the time is up (2 s), then the stop (15 s at worst).
    assert waited < READY_TIMEOUT_S + 2 + 15 + 1
    if behaviour in NEVER_READY:
        assert f"did not answer at {server.base_url} within 3 s and was stopped" in message
    elif behaviour == "exits":
        assert "stopped before it was ready (exit code 1)" in message
        assert "CUDA out of memory" in message
    else:
        assert "stopped before it was ready (killed by signal 9 (SIGKILL))" in message
    # The end of the log is quoted (the busy server's is its refused polls).
    assert ("GET /v1/models" if behaviour == "busy" else "loading model shards") in message
    assert gone, "a process of the server's group is still running"
    record("server_fault", behaviour=behaviour, waited_s=round(waited, 2), message=message[:80])


def test_the_async_wait_of_the_window_is_bounded_too(tmp_path: Path) -> None:
    server = _server(tmp_path, "silent", free_port())
    server.start()
    pgid = server.pid or 0
    try:
        with pytest.raises(ServerStartError, match="did not answer"):
            asyncio.run(server.wait_until_ready_async(timeout_s=READY_TIMEOUT_S, poll_s=0.1))
    finally:
        server.stop(grace_s=1)
    assert _gone(pgid)


def test_server_start_command_gives_up_and_cleans_up(tmp_path: Path) -> None:
    script = tmp_path / "silent_server.py"
    script.write_text(
        FAKE_SERVER.format(behaviour="open(sys.argv[2], 'w').write(str(os.getpid()))\n")
        + textwrap.dedent(BEHAVIOURS["closed"])
    )
    pid_file = tmp_path / "server.pid"
    result = subprocess.run(
        [PY, "-m", "app", "server", "start", "--model", str(pid_file), "--port", "1",
         "--command", f"{PY} {script} {{port}} {{model}}", "--ready-timeout", "2", "--quiet"],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert "did not answer at http://127.0.0.1:1/v1 within 2 s and was stopped" in result.stderr
    assert _gone(int(pid_file.read_text()))
