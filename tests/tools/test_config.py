"""mcp.json in the standard shape, and the settings the app keeps beside it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from app.tools.config import ConfigError, ServerConfig, load_config, parse_config
from app.tools.tool_settings import (
    FORMAT_VERSION,
    SettingsError,
    ToolSettings,
    default_settings_path,
    load_settings,
    save_settings,
)

# Claude Desktop's documented example shape, plus an HTTP server as LM Studio writes it.
PASTED = """{
  "mcpServers": {
    "filesystem": {
      "command": "npx",
      "args": ["-y", "@modelcontextprotocol/server-filesystem", "/Users/me/Desktop"],
      "env": {"DEBUG": "1"}
    },
    "remote": {"url": "https://example.org/mcp", "headers": {"Authorization": "Bearer x"}}
  }
}"""


def test_pasted_config_parses() -> None:
    files, remote = parse_config(PASTED)
    assert files == ServerConfig(
        "filesystem",
        command="npx",
        args=("-y", "@modelcontextprotocol/server-filesystem", "/Users/me/Desktop"),
        env={"DEBUG": "1"},
    )
    assert files.transport == "stdio"
    assert files.describe() == "npx -y @modelcontextprotocol/server-filesystem /Users/me/Desktop"
    assert remote.transport == "http" and remote.headers == {"Authorization": "Bearer x"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '{"mcpServers": {"a": {"command": "x",}}}',
            # Python 3.13's json points at the trailing comma, earlier ones at the brace.
            f"line 1, column {37 if sys.version_info >= (3, 13) else 38}: not valid JSON",
        ),
        (
            '{\n  "mcpServers": {\n    "a": {"args": []}\n  }\n}',
            "line 3: server 'a' needs a \"command\"",
        ),
        ('{"servers": {}}', 'expected an object with "mcpServers"'),
        ('{"mcpServers": {"a": {"command": 5}}}', "command must be a string, not int"),
        ('{"mcpServers": {"a": {"command": "x", "args": "y"}}}', "args of 'a' must be a list"),
        ('{"mcpServers": {"a": {"url": "ftp://x"}}}', "must start with http://"),
        ('{"mcpServers": {"a": {"url": "http://x", "command": "y"}}}', "both a command and a url"),
        ('{"mcpServers": {"a": {"command": "x", "env": {"K": 1}}}}', "env['K'] must be a string"),
    ],
)
def test_mistakes_name_the_line_and_the_fault(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "mcp.json")
    assert expected in str(caught.value)
    assert str(caught.value).startswith("mcp.json, line ")


def test_missing_file_is_no_servers_and_unreadable_is_a_sentence(tmp_path: Path) -> None:
    assert load_config(tmp_path / "mcp.json") == []
    (tmp_path / "bad.json").write_bytes(b"\xff\xfe{")
    with pytest.raises(ConfigError, match="Could not read"):
        load_config(tmp_path / "bad.json")


def test_new_server_is_disabled_until_enabled_and_an_edit_disables_it(tmp_path: Path) -> None:
    files, remote = parse_config(PASTED)
    settings = ToolSettings()
    assert not settings.is_enabled(files) and not settings.is_enabled(remote)
    settings.set_enabled(files, True)
    path = default_settings_path(tmp_path / "mcp.json")
    save_settings(settings, path)
    again = load_settings(path)
    assert again.is_enabled(files)
    edited = ServerConfig("filesystem", command="npx", args=("-y", "something-else"))
    assert not again.is_enabled(edited)


def test_policies_default_to_ask_and_are_remembered(tmp_path: Path) -> None:
    settings = ToolSettings()
    assert settings.policy_for("files", "read") == "ask"
    settings.set_policy("files", "never")
    settings.set_policy("files", "always", tool="read")
    settings.set_tool_enabled("files", "delete", False)
    settings.loop_limit = 3
    path = tmp_path / "mcp-settings.json"
    save_settings(settings, path)
    document = json.loads(path.read_text())
    assert document["format_version"] == FORMAT_VERSION
    again = load_settings(path)
    assert again.policy_for("files", "read") == "always"
    assert again.policy_for("files", "write") == "never"
    assert not again.is_tool_enabled("files", "delete")
    assert again.is_tool_enabled("files", "read")
    assert again.loop_limit == 3
    with pytest.raises(SettingsError, match="Unknown policy 'sometimes'"):
        settings.set_policy("files", "sometimes")


def test_newer_settings_are_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "mcp-settings.json"
    text = json.dumps({"format_version": FORMAT_VERSION + 1, "servers": {}})
    path.write_text(text)
    with pytest.raises(SettingsError, match="newer than this app reads"):
        load_settings(path)
    assert path.read_text() == text
    path.write_text('{"format_version": 1, "servers": {"a": {"policy": "maybe"}}}')
    with pytest.raises(SettingsError, match="'maybe'"):
        load_settings(path)
    for bad in ('{"tool_policies": []}', '{"disabled_tools": "x"}', '{"enabled_fingerprint": 1}'):
        path.write_text('{"format_version": 1, "servers": {"a": ' + bad + "}}")
        with pytest.raises(SettingsError, match="server 'a'"):
            load_settings(path)
    path.write_text("{\n  nope")
    with pytest.raises(SettingsError, match="line 2"):
        load_settings(path)
