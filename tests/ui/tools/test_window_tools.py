"""The window's tools from start-up: the enabled servers' definitions reach the context
meter without the Tools dialog ever being opened, and leave it when a server is disabled."""

from __future__ import annotations

from typing import Any

from app.paths import config_dir
from app.tools.tool_settings import load_settings, save_settings
from app.ui.main_window import MainWindow
from app.ui.tools.window_tools import WindowTools
from tests.ui.tools.conftest import CONNECT_TIMEOUT_MS, write_tool_config

METER_TIMEOUT_MS = 60_000


def _definition_tokens(window: MainWindow) -> int:
    window.composer.refresh_context()
    estimate = window.composer.context_meter.estimate
    assert estimate is not None
    return estimate.tool_definition_tokens


def test_the_meter_counts_the_enabled_tools_from_start_up(
    qtbot: Any, unstarted_window: MainWindow
) -> None:
    window = unstarted_window
    settings_path = write_tool_config(config_dir())
    meter = window.composer.context_meter
    qtbot.waitUntil(lambda: meter.meter is not None, timeout=METER_TIMEOUT_MS)
    assert _definition_tokens(window) == 0

    tools = WindowTools(window.bridge, parent=window)
    with qtbot.waitSignal(tools.tools_offered, timeout=CONNECT_TIMEOUT_MS) as offered:
        window.use_tools(tools)
    names = {d["function"]["name"] for d in offered.args[0]}
    assert {"echo", "add", "big"} <= names
    every = _definition_tokens(window)
    assert every > 0 and window.tools_dialog is None  # never opened

    # One tool disabled (as the dialog saves it): fewer definitions, fewer tokens.
    settings = load_settings(settings_path)
    settings.set_tool_enabled("local", "big", False)
    with qtbot.waitSignal(tools.tools_offered, timeout=5_000) as offered:
        save_settings(settings, settings_path)
    assert "big" not in {d["function"]["name"] for d in offered.args[0]}
    assert 0 < _definition_tokens(window) < every

    # The server disabled: nothing is offered, and the meter counts no definitions.
    settings.servers["local"].enabled_fingerprint = None
    with qtbot.waitSignal(tools.tools_offered, timeout=5_000) as offered:
        save_settings(settings, settings_path)
    assert offered.args == [[]] and not tools.active
    assert _definition_tokens(window) == 0
