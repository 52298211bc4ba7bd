"""`maverick-desk serve` as a user runs it: refusals, then a real server until SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest

from app.engines.managed_server import free_port, group_alive

CLI = [sys.executable, "-m", "app", "serve"]


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--host", "0.0.0.0"], {}, "reachable from the network; that needs an API key"),
        (["--host", "192.168.1.5"], {}, "pass --api-key-env VAR"),
        (["--api-key-env", "H21_NOT_SET"], {}, "H21_NOT_SET is not set or is empty"),
        (["--host", "0.0.0.0", "--api-key-env", "H21_EMPTY"], {"H21_EMPTY": " "}, "is empty"),
        (["--port", "0"], {}, "--port must be from 1 to 65535"),
        (["--prompt-cache", "-1"], {}, "--prompt-cache must be from 0 (off) to 16"),
        (["--prompt-cache", "17"], {}, "--prompt-cache must be from 0 (off) to 16"),
        (["--prompt-cache-gib", "-2"], {}, "--prompt-cache-gib must be 0"),
    ],
)
def test_serve_refuses(args: list[str], env: dict[str, str], message: str) -> None:
    result = subprocess.run(
        [*CLI, *args], capture_output=True, text=True, timeout=60, env={**os.environ, **env}
    )
    assert result.returncode == 2 and message in result.stderr, result.stderr


def test_serve_answers_until_terminated(demo_bf16: Path) -> None:
    port = free_port()
    key = "cli-secret-9d2e"
    proc = subprocess.Popen(
        [*CLI, "--model", str(demo_bf16), "--port", str(port), "--api-key-env", "H21_KEY"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "H21_KEY": key},
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        base = f"http://127.0.0.1:{port}/v1"
        assert line.strip() == (
            f"Serving Llama-4-Maverick-demo-random-weights at {base} (Ctrl+C to stop)"
        ), line
        assert httpx2.get(base + "/models").status_code == 401
        auth = {"Authorization": f"Bearer {key}"}
        body = {
            "model": "Llama-4-Maverick-demo-random-weights",
            "messages": [{"role": "user", "content": "Hi"}],
            "max_tokens": 2,
        }
        reply = httpx2.post(base + "/chat/completions", json=body, headers=auth, timeout=120)
        assert reply.status_code == 200, reply.text
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 0, err
    assert "[served 1 request(s)]" in err
    assert key not in out + err + line
    deadline = time.monotonic() + 10
    while group_alive(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not group_alive(proc.pid), "the worker outlived serve"


def test_serve_says_when_the_port_is_taken(demo_bf16: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [*CLI, "--model", str(demo_bf16), "--port", str(port)],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert result.returncode == 1
    assert f"could not listen on 127.0.0.1:{port}" in result.stderr, result.stderr
