"""`maverick-desk ask --server URL --model NAME` against a real `transformers serve`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from app.engines.managed_server import free_port

CLI = [sys.executable, "-m", "app"]
SECRET = "sk-cli-5be1d2c0-not-for-printing"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=120, env=full_env)


def test_ask_server_streams_an_answer(demo_server: Any, images: dict[str, Path]) -> None:
    result = run(
        "ask", "--server", demo_server.base_url, "--model", demo_server.argv[2],
        "--api-key-env", "MD_TEST_KEY", "--image", str(images["wide"]),
        "--temperature", "0", "--max-new-tokens", "8", "What is in this picture?",
        env={"MD_TEST_KEY": SECRET},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
    assert "8 generated" in result.stderr and "tokens/s" in result.stderr
    assert "finish: length" in result.stderr
    assert SECRET not in result.stdout + result.stderr


def test_ask_server_wrong_model(demo_server: Any) -> None:
    result = run("ask", "--server", demo_server.base_url, "--model", "nope/nope", "Hi")
    assert result.returncode == 2
    assert "does not serve a model named “nope/nope”" in result.stderr


def test_ask_server_nothing_listening() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    result = run("ask", "--server", url, "--model", "m", "Hi")
    assert result.returncode == 1
    assert f"Nothing answered at {url}" in result.stderr


def test_ask_server_argument_problems() -> None:
    result = run("ask", "--server", "http://127.0.0.1:9/v1", "Hi")
    assert result.returncode == 2 and "--server needs --model NAME" in result.stderr
    result = run("ask", "--api-key-env", "X", "Hi")
    assert result.returncode == 2 and "--api-key-env only applies with --server" in result.stderr
    env = {k: v for k, v in os.environ.items() if k != "MD_UNSET_KEY"}
    result = subprocess.run(
        [*CLI, "ask", "--server", "http://127.0.0.1:9/v1", "--model", "m",
         "--api-key-env", "MD_UNSET_KEY", "Hi"],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert result.returncode == 2 and "MD_UNSET_KEY" in result.stderr and "not set" in result.stderr
