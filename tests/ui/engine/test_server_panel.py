"""Test connection in the window: a real server, a refused port, a 401, a page that is not OpenAI's.

The API key travels only through the environment variable named in the form: it
reaches the server, and never the settings file or the log.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from app.engines.managed_server import free_port
from app.ui.engine.engine_store import SERVER, EngineStore
from app.ui.main_window import MainWindow
from app.ui.settings.settings_store import SettingsStore
from tests.ui.engine_fixtures import Scripted

SECRET = "sk-window-5be1c0de-never-saved"
CLICK = Qt.MouseButton.LeftButton


def connection_test(
    qtbot: Any, window: MainWindow, base_url: str, key_env: str = ""
) -> tuple[bool, str]:
    panel = window.open_engine_dialog().server_panel
    panel.base_url.setText(base_url)
    panel.model.setText("meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8")
    panel.api_key_env.setText(key_env)
    with qtbot.waitSignal(panel.connection_tested, timeout=30_000) as result:
        qtbot.mouseClick(panel.test_button, CLICK)
    ok, text = result.args
    assert panel.result.text() == text and panel.test_button.isEnabled()
    return ok, text


def test_connection_to_a_real_server(
    qtbot: Any, engine_window: MainWindow, demo_server: Any
) -> None:
    ok, text = connection_test(qtbot, engine_window, demo_server.base_url)
    assert ok and text.startswith("Connected in ") and "lists no model" in text
    assert not engine_window.bridge.client.alive  # testing switches nothing


def test_connection_refused(qtbot: Any, engine_window: MainWindow) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    ok, text = connection_test(qtbot, engine_window, url)
    assert not ok and f"Nothing answered at {url}" in text and "server is running" in text


def test_a_silent_server_times_out(
    qtbot: Any, engine_window: MainWindow, scripted_server: Scripted
) -> None:
    scripted_server.silent_s = 60
    engine_window.open_engine_dialog().server_panel.timeout.setValue(5)  # the shortest
    started = time.monotonic()
    ok, text = connection_test(qtbot, engine_window, scripted_server.base_url)
    assert not ok and "sent nothing for 5 s" in text
    assert 5 <= time.monotonic() - started < 20


def test_a_page_that_is_not_an_openai_server(
    qtbot: Any, engine_window: MainWindow, scripted_server: Scripted
) -> None:
    scripted_server.status = 200
    scripted_server.content_type = "text/html"
    scripted_server.body = b"<html><body>Router login</body></html>"
    ok, text = connection_test(qtbot, engine_window, scripted_server.base_url)
    assert not ok and "not a valid OpenAI" in text and "OpenAI-compatible server" in text


def test_a_refused_key_is_explained_and_never_saved_or_logged(
    qtbot: Any,
    engine_window: MainWindow,
    scripted_server: Scripted,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    data_dir: Path,
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("MAVERICK_WINDOW_KEY", SECRET)
    url = scripted_server.base_url
    ok, text = connection_test(qtbot, engine_window, url, "MAVERICK_WINDOW_KEY")
    assert not ok and "refused the API key (HTTP 401)" in text
    path, headers = scripted_server.requests[-1]
    assert path == "/v1/models" and headers["authorization"] == f"Bearer {SECRET}"

    # Using the server saves its settings: the variable's name, never the key.
    dialog = engine_window.open_engine_dialog()
    with qtbot.waitSignal(engine_window.bridge.model_failed, timeout=30_000) as failed:
        qtbot.mouseClick(dialog.server_panel.use_button, CLICK)
    sentence = failed.args[0]
    assert "refused the API key" in sentence and "Set the environment variable" in sentence
    assert engine_window.status.stage_label.text() == "Server not reachable"
    settings_file = (data_dir / "settings.ini").read_text(encoding="utf-8")
    assert "MAVERICK_WINDOW_KEY" in settings_file and SECRET not in settings_file
    assert EngineStore(SettingsStore(data_dir / "settings.ini")).engine == SERVER
    assert SECRET not in caplog.text and "401" in caplog.text
    assert all(SECRET not in block.text for block in engine_window.error_blocks())


def test_a_pasted_key_is_refused_and_forgotten(
    qtbot: Any, engine_window: MainWindow, data_dir: Path
) -> None:
    panel = engine_window.open_engine_dialog().server_panel
    panel.model.setText("m")
    panel.api_key_env.setText(SECRET)
    with qtbot.waitSignal(panel.connection_tested, timeout=5_000) as result:
        qtbot.mouseClick(panel.use_button, CLICK)
    assert result.args[0] is False and "not the key" in result.args[1]
    assert panel.api_key_env.text() == "" and engine_window.bridge.server_settings is None
    settings_file = data_dir / "settings.ini"
    assert not settings_file.exists() or SECRET not in settings_file.read_text(encoding="utf-8")
