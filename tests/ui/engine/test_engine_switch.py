"""The window answering through a real `transformers serve` on 127.0.0.1, and back again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psutil
from PySide6.QtCore import Qt

from app.ui.app import build_window
from app.ui.engine.engine_store import LOCAL, SERVER, EngineStore
from app.ui.main_window import MainWindow
from app.ui.settings.settings_store import SettingsStore
from tests.ui.conftest import LOAD_TIMEOUT_MS

ANSWER_TIMEOUT_MS = 120_000
CLICK = Qt.MouseButton.LeftButton


def test_switching_to_a_server_streams_the_answer_into_the_window(
    qtbot: Any, engine_window: MainWindow, demo_server: Any, data_dir: Path
) -> None:
    window, bridge = engine_window, engine_window.bridge
    dialog = window.open_engine_dialog()
    panel = dialog.server_panel
    panel.base_url.setText(demo_server.base_url)
    panel.model.setText(demo_server.argv[2])
    with qtbot.waitSignal(bridge.model_ready, timeout=60_000) as ready:
        qtbot.mouseClick(panel.use_button, CLICK)
    assert ready.args[0].quantisation == "server" and ready.args[0].path == demo_server.base_url
    assert dialog.server_radio.isChecked() and not bridge.client.alive  # no local worker
    assert "server" in window.status.model_label.text()

    tokens: list[str] = []
    bridge.token_received.connect(lambda rid, text: tokens.append(text))
    window.settings_panel.set_value("max_new_tokens", 12)
    window.settings_panel.set_value("temperature", 0.0)
    with qtbot.waitSignal(window.answer_ended, timeout=ANSWER_TIMEOUT_MS) as ended:
        assert window.send("Hello, who are you?")
    assert ended.args == ["complete"]
    assert len(tokens) >= 2 and window.assistant_views()[-1].message.text == "".join(tokens)
    assert "tokens/s" in window.status.figures_label.text()

    # Remembered: a window built from the same settings file answers through the server.
    engines = EngineStore(SettingsStore(data_dir / "settings.ini"))
    assert engines.engine == SERVER
    assert engines.server_settings() == bridge.server_settings
    again = build_window(None)
    try:
        assert again.bridge.server_settings == bridge.server_settings
    finally:
        again.bridge.close()
        again.deleteLater()

    # A wrong model name reaches the user as a sentence with what to do.
    panel.model.setText("meta-llama/Nope-17B")
    with qtbot.waitSignal(bridge.model_ready, timeout=60_000):
        qtbot.mouseClick(panel.use_button, CLICK)
    with qtbot.waitSignal(window.answer_ended, timeout=ANSWER_TIMEOUT_MS) as ended:
        assert window.send("Hi")
    assert ended.args == ["error"]
    text = window.error_blocks()[-1].text
    assert "“meta-llama/Nope-17B”" in text and "Press Test connection in Model and engine" in text

    # Back to the local worker: it starts and loads the model again.
    window.chat_view.clear_errors()
    with qtbot.waitSignal(bridge.model_ready, timeout=LOAD_TIMEOUT_MS) as ready:
        qtbot.mouseClick(dialog.local_radio, CLICK)
    assert ready.args[0].quantisation != "server" and bridge.client.alive
    assert bridge.server_settings is None and engines.engine == LOCAL


def test_switching_engine_mid_answer_stops_it_and_keeps_the_text(
    qtbot: Any, engine_window: MainWindow, scripted_server: Any, long_question: str
) -> None:
    window, bridge = engine_window, engine_window.bridge
    with qtbot.waitSignal(bridge.model_ready, timeout=LOAD_TIMEOUT_MS):
        bridge.start()
    worker = bridge.client.pid
    window.settings_panel.set_value("max_new_tokens", 4000)
    window.settings_panel.set_value("temperature", 0.0)  # greedy runs long; sampling may not
    tokens: list[str] = []
    bridge.token_received.connect(lambda rid, text: tokens.append(text))
    assert window.send(long_question)
    qtbot.waitUntil(lambda: len(tokens) >= 5, timeout=ANSWER_TIMEOUT_MS)

    # Switching to a server (this one refuses the key) while the answer streams.
    panel = window.open_engine_dialog().server_panel
    panel.base_url.setText(scripted_server.base_url)
    panel.model.setText("meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8")
    with qtbot.waitSignal(window.answer_ended, timeout=30_000) as ended:
        qtbot.mouseClick(panel.use_button, CLICK)
    assert ended.args == ["stopped"] and not window.generating
    answer = window.assistant_views()[-1].message
    assert answer.text and answer.text.startswith(tokens[0])  # the partial answer stays
    assert not bridge.client.alive and worker is not None and not psutil.pid_exists(worker)
    qtbot.waitUntil(
        lambda: window.status.stage_label.text() == "Server not reachable", timeout=30_000
    )
    assert "Send" in window.composer.send_button.text()  # not stuck on Stop
