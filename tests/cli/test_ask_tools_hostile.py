"""`ask --tools` with a hostile server: real signals to a real CLI, and an image bomb.

The model (a scripted OpenAI-compatible server) calls a tool that starts a child and a
`setsid` grandchild and hangs; whatever signal then ends the CLI, none of them is left.
A 100-megapixel image in a tool's result is left out with a sentence and the answer goes on.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.test_tools_hostile import hostile_setup, wait_for_file
from tests.scripted_openai import Scripted, scripted_server, text_reply, tool_call_reply
from tests.tools.test_hostile_servers import alive, wait_gone

CLI = [sys.executable, "-m", "app"]


@pytest.fixture
def scripted() -> Iterator[tuple[Scripted, str]]:
    with scripted_server() as server:
        yield server


def ask_command(url: str, config: list[str]) -> list[str]:
    return [*CLI, "ask", "Go.", "--server", url, "--model", "m", "--tools", "--approve", "all",
            "--tools-config", config[1]]  # fmt: skip


@pytest.mark.parametrize(
    ("signum", "code"),
    [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129), (signal.SIGKILL, -9)],
)
def test_no_process_outlives_a_signal_to_ask(
    scripted: tuple[Scripted, str], tmp_path: Path, signum: signal.Signals, code: int
) -> None:
    state, url = scripted
    pids_file = tmp_path / "pids"
    state.replies.append(tool_call_reply("hang", json.dumps({"pids_file": str(pids_file)})))
    config, env = hostile_setup(tmp_path)
    process = subprocess.Popen(
        ask_command(url, config), env=env, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    pids = [int(pid) for pid in wait_for_file(pids_file, process).split()]
    assert len(pids) == 4 and all(alive(pid) for pid in pids)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == code, stderr
    assert wait_gone(pids) == [], f"left running after {signum.name}"
    assert "Traceback" not in stderr


def test_an_image_bomb_is_left_out_and_the_answer_goes_on(
    scripted: tuple[Scripted, str], tmp_path: Path
) -> None:
    state, url = scripted
    state.replies += [tool_call_reply("images", '{"side": 10000}'), text_reply("Seen one.")]
    config, env = hostile_setup(tmp_path)
    result = subprocess.run(
        ask_command(url, config), env=env, stdin=subprocess.DEVNULL, capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Seen one.\n"
    assert "DecompressionBomb" not in result.stderr and "site-packages" not in result.stderr
    assert "+1 image(s)" in result.stderr
    sent = json.dumps(state.bodies[1]["messages"])
    assert "has 100 megapixels, more than the 80 the model can take; left out." in sent
    assert sent.count("data:image/png;base64,") == 1
