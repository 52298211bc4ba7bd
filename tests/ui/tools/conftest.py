"""The tools room's fixtures: the Tools dialog on a temporary mcp.json with a real ToolHost
running real MCP servers, and the window with tools.

`tool_window` writes mcp.json and the tool settings (a real stdio MCP test server enabled,
every call asked) in the test's config folder, connects the window to the scripted
OpenAI-compatible server (`scripted`), and gives the window its `WindowTools`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.engines.openai_client import ServerSettings
from app.paths import config_dir
from app.tools.config import CONFIG_NAME, ServerConfig, load_config
from app.tools.host import ToolHost
from app.tools.tool_settings import ToolSettings, default_settings_path, save_settings
from app.ui.main_window import MainWindow
from app.ui.tools.tools_dialog import ToolsDialog
from app.ui.tools.window_tools import WindowTools
from tests.scripted_openai import Scripted, scripted_server
from tests.tools.conftest import SERVER_SCRIPT, http_port, http_server, stdio_config  # noqa: F401

CONNECT_TIMEOUT_MS = 30_000
ANSWER_TIMEOUT_MS = 60_000


@pytest.fixture
def scripted() -> Iterator[tuple[Scripted, str]]:
    with scripted_server() as server:
        yield server


def write_tool_config(folder: Path) -> Path:
    """mcp.json with the SDK test server as "local", enabled; returns the settings' path."""
    import sys

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / CONFIG_NAME
    entry = {"command": sys.executable, "args": [str(SERVER_SCRIPT), "stdio"]}
    path.write_text(json.dumps({"mcpServers": {"local": entry}}), encoding="utf-8")
    settings = ToolSettings(call_timeout_s=30)
    for server in load_config(path):
        settings.set_enabled(server, True)
    settings_path = default_settings_path(path)
    save_settings(settings, settings_path)
    return settings_path


@pytest.fixture
def tool_window(
    qtbot: Any, engine_window: MainWindow, scripted: tuple[Scripted, str]
) -> Iterator[MainWindow]:
    window = engine_window
    write_tool_config(config_dir())
    window.use_tools(WindowTools(window.bridge, parent=window))
    assert window.tools is not None and window.tools.active
    assert window.tools.host is not None and window.tools.host.wait_ready(30)
    with qtbot.waitSignal(window.bridge.model_ready, timeout=CONNECT_TIMEOUT_MS):
        window.bridge.use_server(ServerSettings(scripted[1], "m"))
    window.settings_panel.set_value("max_new_tokens", 64)
    yield window


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
