"""The window with tools: a real MCP server (stdio) enabled, the server engine on 127.0.0.1.

`tool_window` writes mcp.json and the tool settings (the test server enabled, every
call asked) in the test's config folder, connects the window to the scripted
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
from app.tools.config import CONFIG_NAME, load_config
from app.tools.tool_settings import ToolSettings, default_settings_path, save_settings
from app.ui.main_window import MainWindow
from app.ui.tools.window_tools import WindowTools
from tests.scripted_openai import Scripted, scripted_server
from tests.tools.conftest import SERVER_SCRIPT

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
