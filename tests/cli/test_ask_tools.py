"""`maverick-desk ask --tools`: approval flags, the server engine's loop, the local worker."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.tools.config import parse_config
from app.tools.tool_settings import ToolSettings, save_settings
from tests.scripted_openai import Scripted, scripted_server, text_reply, tool_call_reply
from tests.tools.conftest import SERVER_SCRIPT

CLI = [sys.executable, "-m", "app"]


@pytest.fixture
def scripted() -> Iterator[tuple[Scripted, str]]:
    with scripted_server() as server:
        yield server


def enabled_config(folder: Path) -> str:
    """mcp.json with the test server, enabled in the settings beside it."""
    document = {"mcpServers": {"local": {"command": sys.executable,
                                         "args": [str(SERVER_SCRIPT), "stdio"]}}}  # fmt: skip
    path = folder / "mcp.json"
    path.write_text(json.dumps(document))
    settings = ToolSettings()
    settings.set_enabled(parse_config(path.read_text())[0], True)
    save_settings(settings, folder / "mcp-settings.json")
    return str(path)


def ask(*args: str, data: Path, timeout: int = 240) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MAVERICK_DESK_DATA_DIR": str(data)}
    return subprocess.run(
        [*CLI, "ask", *args], capture_output=True, text=True, timeout=timeout, env=env,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip


def test_without_a_terminal_tools_need_an_approve_flag(tmp_path: Path) -> None:
    result = ask("hi", "--tools", data=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "maverick-desk ask: --tools needs --approve all or --approve none when there is no "
        "terminal to ask on; no tool runs without someone's approval."
    )
    stray = ask("hi", "--approve", "all", data=tmp_path)
    assert stray.returncode == 2 and "only apply with --tools" in stray.stderr


def test_server_answers_with_a_tool_call_then_text(
    scripted: tuple[Scripted, str], tmp_path: Path
) -> None:
    state, url = scripted
    state.replies += [tool_call_reply("add", '{"a": 19, "b": 23}'), text_reply("It is 42.")]
    config = enabled_config(tmp_path)
    result = ask("What is 19 + 23?", "--server", url, "--model", "m", "--tools",
                 "--approve", "all", "--tools-config", config, data=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout == "It is 42.\n"
    assert "[tools: 11 from 1 server(s)]" in result.stderr
    assert "[tool call: add {'a': 19, 'b': 23}]" in result.stderr
    assert "[tool result: 42]" in result.stderr
    assert "model steps: 2]" in result.stderr
    assert state.bodies[1]["messages"][-1] == {
        "role": "tool", "tool_call_id": "call_abc", "content": "42"
    }  # fmt: skip


def test_approve_none_declines_and_the_model_hears_why(
    scripted: tuple[Scripted, str], tmp_path: Path
) -> None:
    state, url = scripted
    state.replies += [tool_call_reply("spawn_child", "{}"), text_reply("Understood.")]
    config = enabled_config(tmp_path)
    result = ask("Start something.", "--server", url, "--model", "m", "--tools",
                 "--approve", "none", "--tools-config", config, data=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    declined = state.bodies[1]["messages"][-1]["content"]
    assert declined == (
        "The user declined the call to 'spawn_child'. Their reason: tools were declined "
        "(--approve none)"
    )
    assert "[tool error: The user declined" in result.stderr


def _prompt_tokens(stderr: str) -> int:
    match = re.search(r"\[prompt (\d+) tokens", stderr)
    assert match, stderr
    return int(match.group(1))


def test_local_worker_gets_the_tool_definitions(tmp_path: Path, demo_bf16: Path) -> None:
    config = enabled_config(tmp_path)
    common = ["Hello", "--model", str(demo_bf16), "--max-new-tokens", "4", "--temperature", "0"]
    plain = ask(*common, data=tmp_path)
    with_tools = ask(*common, "--tools", "--approve", "all", "--tools-config", config,
                     data=tmp_path)  # fmt: skip
    assert plain.returncode == 0, plain.stderr
    assert with_tools.returncode == 0, with_tools.stderr
    assert "[tools: 11 from 1 server(s)]" in with_tools.stderr
    # The eleven tool definitions travel in the prompt (the demo tokenizer is tiny: many tokens).
    assert _prompt_tokens(with_tools.stderr) > _prompt_tokens(plain.stderr) + 500
    assert "model steps: 1]" in with_tools.stderr
    tool_tokens = int(re.search(r"image, (\d+) tool definitions", with_tools.stderr).group(1))  # type: ignore[union-attr]
    assert tool_tokens == _prompt_tokens(with_tools.stderr) - _prompt_tokens(plain.stderr)
    # The same parts as the window's context meter, adding up to the prompt.
    parts = re.search(
        r"\((\d+) earlier messages, (\d+) your text, (\d+) image, (\d+) tool definitions, "
        r"(\d+) tool results\)",
        with_tools.stderr,
    )
    assert parts, with_tools.stderr
    figures = [int(n) for n in parts.groups()]
    assert sum(figures) == _prompt_tokens(with_tools.stderr)
    assert figures[1] > 0 and figures[0] == 0 and figures[3] == tool_tokens  # one message


def test_on_a_terminal_each_call_is_asked_about(
    scripted: tuple[Scripted, str], tmp_path: Path
) -> None:
    """The default approver: the prompt shows server, tool and arguments; 'n REASON' denies."""
    import pty
    import select
    import time

    state, url = scripted
    state.replies += [tool_call_reply("echo", '{"text": "rm -rf /"}'), text_reply("Fine.")]
    config = enabled_config(tmp_path)
    master, slave = pty.openpty()
    env = {**os.environ, "MAVERICK_DESK_DATA_DIR": str(tmp_path)}
    process = subprocess.Popen(
        [*CLI, "ask", "Say it.", "--server", url, "--model", "m", "--tools",
         "--tools-config", config],
        stdin=slave, stderr=slave, stdout=subprocess.PIPE, env=env, text=True,
    )  # fmt: skip
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 120
    while b"[n REASON] deny: " not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 1)
        if ready:
            seen += os.read(master, 4096)
    os.write(master, b"n too risky\n")
    stdout, _ = process.communicate(timeout=120)
    os.close(master)
    assert process.returncode == 0
    text = seen.decode()
    assert "The model wants to call 'echo' on the server 'local' with:" in text
    assert '"text": "rm -rf /"' in text
    assert stdout == "Fine.\n"
    assert state.bodies[1]["messages"][-1]["content"] == (
        "The user declined the call to 'echo'. Their reason: too risky"
    )
