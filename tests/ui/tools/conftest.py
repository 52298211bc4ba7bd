"""The Tools dialog on a temporary mcp.json, with a real ToolHost running real MCP servers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.tools.config import ServerConfig
from app.tools.host import ToolHost
from app.ui.tools.tools_dialog import ToolsDialog
from tests.tools.conftest import http_port, http_server, stdio_config  # noqa: F401


def write_config(path: Path, servers: list[ServerConfig]) -> None:
    entries = {s.name: {"command": s.command, "args": list(s.args)} for s in servers}
    document = {"mcpServers": entries}
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    """mcp.json with one real stdio test server, "local", not enabled yet."""
    path = tmp_path / "config" / "mcp.json"
    path.parent.mkdir()
    write_config(path, [stdio_config("local")])
    return path


@pytest.fixture
def host(tmp_path: Path) -> Iterator[ToolHost]:
    with ToolHost(call_timeout_s=20, logs=tmp_path / "logs", ping_interval_s=0.3) as tool_host:
        yield tool_host


@pytest.fixture
def dialog(qtbot: object, config_path: Path, host: ToolHost) -> Iterator[ToolsDialog]:
    tools = ToolsDialog(config_path, host)
    qtbot.addWidget(tools)  # type: ignore[attr-defined]
    tools.show()
    yield tools
    tools.shutdown()
