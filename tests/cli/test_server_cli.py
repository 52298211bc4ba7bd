"""`maverick-desk server test` and `server start` as a user runs them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from app.engines.managed_server import free_port, group_alive

CLI = [sys.executable, "-m", "app"]


def test_server_test_lists_models(demo_server: Any) -> None:
    result = subprocess.run(
        [*CLI, "server", "test", "--server", demo_server.base_url],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"{demo_server.base_url} answered in" in result.stdout
    assert "serves 0 model(s)" in result.stdout


def test_server_test_nothing_listening() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    result = subprocess.run(
        [*CLI, "server", "test", "--server", url], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1 and f"Nothing answered at {url}" in result.stderr


def test_server_start_dry_run_prints_the_vllm_command() -> None:
    result = subprocess.run(
        [*CLI, "server", "start", "--model", "meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8",
         "--dry-run"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "vllm serve meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8 --tensor-parallel-size 8 "
        "--max-model-len 430000 --limit-mm-per-prompt '{\"image\": 5}' "
        "--enable-auto-tool-choice --tool-call-parser llama4_pythonic --host 127.0.0.1 "
        "--port 8000"
    )


def test_server_start_runs_until_terminated(demo_bf16: Path, tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [*CLI, "server", "start", "--engine", "transformers", "--model", str(demo_bf16),
         "--port", str(port), "--ready-timeout", "180", "--quiet",
         "--command", "transformers serve {model} --dtype bfloat16 --device cpu "
         "--host {host} --port {port}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "HF_HUB_CACHE": str(tmp_path), "HF_HUB_OFFLINE": "1"},
    )  # fmt: skip
    assert proc.stdout is not None
    try:
        line = proc.stdout.readline()
        assert line.startswith(f"ready at http://127.0.0.1:{port}/v1"), line
        children = subprocess.run(
            ["pgrep", "-P", str(proc.pid)], capture_output=True, text=True, timeout=10
        ).stdout.split()
        assert len(children) == 1, children
        server_pid = int(children[0])
        assert group_alive(server_pid)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:  # a failed assertion: let it stop its server first
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        proc.stdout.close()
        assert proc.stderr is not None
        proc.stderr.close()
    assert proc.returncode == 143
    deadline = time.monotonic() + 10
    while group_alive(server_pid):
        assert time.monotonic() < deadline, "the server outlived `server start`"
        time.sleep(0.05)
