"""A managed `transformers serve` started from the window: its log, using it, closing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from app.engines.managed_server import TEMPLATES, free_port, group_alive
from app.ui.engine.engine_store import EngineStore
from app.ui.main_window import MainWindow

START_TIMEOUT_MS = 180_000
CLICK = Qt.MouseButton.LeftButton


def test_managed_server_starts_answers_and_stops_with_the_window(
    qtbot: Any,
    engine_window: MainWindow,
    demo_bf16: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # An empty, offline Hugging Face cache keeps /v1/models fast (as in `demo_server`).
    cache = tmp_path / "hf-cache"
    cache.mkdir()
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    window, bridge = engine_window, engine_window.bridge
    dialog = window.open_engine_dialog()
    panel = dialog.managed_panel
    assert panel.model.text() == str(demo_bf16)  # the local model, ready to serve
    panel.engine.setCurrentIndex(panel.engine.findData("transformers"))
    assert panel.template.text() == TEMPLATES["transformers"]
    panel.template.setText(TEMPLATES["transformers"] + " --device cpu")
    port = free_port()
    panel.port.setValue(port)

    with qtbot.waitSignal(panel.server_ready, timeout=START_TIMEOUT_MS) as ready:
        qtbot.mouseClick(panel.start_button, CLICK)
    server = panel.server
    assert server is not None and ready.args == [f"http://127.0.0.1:{port}/v1", str(demo_bf16)]
    pgid = server.pid
    assert pgid is not None and group_alive(pgid)
    assert panel.ready and panel.state.text().startswith("Ready at http://127.0.0.1:")
    qtbot.waitUntil(lambda: panel.log_view.blockCount() > 2, timeout=10_000)
    log_text = panel.log_view.toPlainText()
    assert log_text.startswith("$ ") and "transformers" in log_text.splitlines()[0]
    assert dialog.server_panel.base_url.text() == f"http://127.0.0.1:{port}/v1"  # filled in
    stored = EngineStore(window.settings_store).managed()
    assert (stored.engine, stored.port, stored.model) == ("transformers", port, str(demo_bf16))

    # "Use this server": the window answers through it.
    with qtbot.waitSignal(bridge.model_ready, timeout=60_000) as connected:
        qtbot.mouseClick(panel.use_button, CLICK)
    assert connected.args[0].quantisation == "server" and dialog.server_radio.isChecked()
    window.settings_panel.set_value("max_new_tokens", 4)
    with qtbot.waitSignal(window.answer_ended, timeout=120_000) as ended:
        assert window.send("Hello")
    assert ended.args == ["complete"]

    # Closing the window stops the server: the whole process group is gone.
    window.close()
    assert not group_alive(pgid)
    assert panel.server is None and "Stopped" in panel.state.text()
