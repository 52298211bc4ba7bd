"""`maverick-desk tools` against real MCP servers (stdio, and streamable HTTP on 127.0.0.1)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.tools.conftest import SERVER_SCRIPT, http_port, http_server  # noqa: F401  (fixtures)

CLI = [sys.executable, "-m", "app"]


def tools(*args: str, data: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MAVERICK_DESK_DATA_DIR": str(data)}
    return subprocess.run(
        [*CLI, "tools", *args], capture_output=True, text=True, timeout=120, env=env
    )


def write_config(path: Path, servers: dict[str, object]) -> str:
    path.write_text(json.dumps({"mcpServers": servers}, indent=2))
    return str(path)


def local(tmp_path: Path) -> str:
    return write_config(
        tmp_path / "mcp.json",
        {"local": {"command": sys.executable, "args": [str(SERVER_SCRIPT), "stdio"]}},
    )


def test_a_new_server_stays_off_until_enabled(tmp_path: Path) -> None:
    config = local(tmp_path)
    listed = tools("list", "--config", config, data=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert f"local (stdio): {sys.executable} {SERVER_SCRIPT} stdio" in listed.stdout
    assert "disabled: `maverick-desk tools enable local`" in listed.stdout
    refused = tools("call", "local", "echo", "--args", '{"text": "x"}', "--config", config,
                    data=tmp_path)  # fmt: skip
    assert refused.returncode == 2 and "is not enabled" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1


def test_enable_list_and_call(tmp_path: Path) -> None:
    config = local(tmp_path)
    enabled = tools("enable", "local", "--config", config, data=tmp_path)
    assert enabled.returncode == 0 and "local: enabled (stdio:" in enabled.stdout
    assert (tmp_path / "mcp-settings.json").is_file()
    listed = tools("list", "--config", config, data=tmp_path)
    assert "  echo [ask]: Say the text back." in listed.stdout
    assert '"required": ["a", "b"]' in listed.stdout
    called = tools("call", "local", "add", "--args", '{"a": 40, "b": 2}', "--config", config,
                   data=tmp_path)  # fmt: skip
    assert called.returncode == 0, called.stderr
    assert called.stdout == "42\n"
    image = tools("call", "local", "red_square", "--config", config, data=tmp_path)
    assert image.stdout.startswith("[image: image/png, ")


def test_call_errors_are_one_line_and_non_zero(tmp_path: Path) -> None:
    config = local(tmp_path)
    tools("enable", "local", "--config", config, data=tmp_path)
    cases = [
        (["local", "fail", "--args", '{"why": "x"}'], 1, "Error executing tool fail"),
        (["local", "nope"], 2, "has no tool 'nope'"),
        (["local", "add", "--args", "{a: 1}"], 2, "--args is not valid JSON"),
        (["ghost", "echo"], 2, "there is no server 'ghost'"),
        (["local", "hang", "--timeout", "1"], 1, "did not answer within 1 s"),
    ]
    for arguments, code, message in cases:
        result = tools("call", *arguments, "--config", config, data=tmp_path)
        assert result.returncode == code, (arguments, result.stderr)
        assert message in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_failed_server_and_bad_config_say_why(tmp_path: Path) -> None:
    config = write_config(tmp_path / "mcp.json", {"broken": {"command": "/no/such/server"}})
    tools("enable", "broken", "--config", config, data=tmp_path)
    listed = tools("list", "--config", config, data=tmp_path)
    assert "failed: The tool server 'broken' could not start: the command" in listed.stdout
    (tmp_path / "bad.json").write_text('{\n  "mcpServers": {\n    "a": {"command": 1}\n  }\n}')
    bad = tools("list", "--config", str(tmp_path / "bad.json"), data=tmp_path)
    assert bad.returncode == 2
    assert "bad.json, line 3: command must be a string, not int." in bad.stderr


def test_http_server(tmp_path: Path, http_server: str) -> None:  # noqa: F811
    config = write_config(tmp_path / "mcp.json", {"web": {"url": http_server}})
    tools("enable", "web", "--config", config, data=tmp_path)
    called = tools("call", "web", "echo", "--args", '{"text": "über http"}', "--config", config,
                   data=tmp_path)  # fmt: skip
    assert called.returncode == 0, called.stderr
    assert called.stdout == "über http\n"
