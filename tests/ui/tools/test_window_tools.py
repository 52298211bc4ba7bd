"""The window's tools from start-up: the enabled servers' definitions reach the context
meter without the Tools dialog ever being opened, and leave it when a server is disabled;
the Tools dialog shows and controls the window's servers instead of running its own."""

from __future__ import annotations

import contextlib
from typing import Any

import psutil

from app.paths import config_dir
from app.tools.config import CONFIG_NAME
from app.tools.tool_settings import load_settings, save_settings
from app.ui.main_window import MainWindow
from app.ui.tools.window_tools import WindowTools
from tests.tools.conftest import SERVER_SCRIPT, stdio_config
from tests.ui.tools.conftest import CONNECT_TIMEOUT_MS, write_config, write_tool_config

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


def _server_processes() -> list[psutil.Process]:
    """The stdio test servers running under this test (not their server_shim.py supervisors)."""
    found = []
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess, psutil.ZombieProcess):
            line = child.cmdline()
            if str(SERVER_SCRIPT) in line and child.status() != psutil.STATUS_ZOMBIE:
                found.append(child)
    return [p for p in found if not any(part.endswith("server_shim.py") for part in p.cmdline())]


def test_the_tools_dialog_shows_the_windows_servers_and_runs_none_of_its_own(
    qtbot: Any, unstarted_window: MainWindow
) -> None:
    window = unstarted_window
    path = config_dir() / CONFIG_NAME
    write_tool_config(config_dir())
    write_config(path, [stdio_config("local"), stdio_config("other")])  # "other" is off
    tools = WindowTools(window.bridge, parent=window)
    window.use_tools(tools)
    assert tools.host is not None and tools.host.wait_ready(30)
    [server] = _server_processes()

    dialog = window.open_tools_dialog()
    qtbot.waitUntil(lambda: dialog.tree.tool_row("local", "add") is not None, timeout=5_000)
    assert [p.pid for p in _server_processes()] == [server.pid]  # one process per server
    assert dialog.host is tools.host

    # Enabled in the dialog: the window's host starts it; "local" keeps running as it was.
    dialog.tree.setCurrentItem(dialog.tree.server_row("other"))
    dialog.server_panel.enabled.click()
    qtbot.waitUntil(lambda: dialog.tree.tool_row("other", "add") is not None, timeout=30_000)
    assert tools.host.state("other") is not None and dialog.host is tools.host
    assert "other__add" in {d["function"]["name"] for d in tools.offered()}
    running = _server_processes()
    assert len(running) == 2 and server.pid in [p.pid for p in running]

    # Disabled in the dialog: it stops, and closing the dialog stops nothing else.
    dialog.server_panel.enabled.click()
    qtbot.waitUntil(lambda: len(_server_processes()) == 1, timeout=15_000)
    dialog.close()
    qtbot.waitUntil(lambda: window.tools_dialog is None, timeout=5_000)
    assert tools.host is not None and tools.host.state("local").status == "ready"  # type: ignore[union-attr]
    assert [p.pid for p in _server_processes()] == [server.pid]
