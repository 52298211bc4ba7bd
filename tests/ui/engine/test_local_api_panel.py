"""Model and engine → Local API: the window's loaded model served to an `openai` client."""

from __future__ import annotations

import socket
import threading
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

from app.engines.managed_server import free_port
from app.local_api.scheduler import Lane, ServingState
from app.ui.engine.engine_store import EngineStore
from app.ui.main_window import MainWindow
from app.ui.settings.settings_store import SettingsStore

ANSWER_TIMEOUT_MS = 120_000
CLICK = Qt.MouseButton.LeftButton


def _in_thread(target: Any) -> tuple[threading.Thread, list[Any]]:
    result: list[Any] = []

    def run() -> None:
        try:
            result.append(target())
        except Exception as exc:  # the test asserts on it
            result.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, result


def _port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_the_window_serves_its_model_and_still_answers_its_own_questions(
    qtbot: Any, window: MainWindow
) -> None:
    import openai

    bridge = window.bridge
    panel = window.open_engine_dialog().local_api_panel
    port = free_port()
    panel.port.setValue(port)
    qtbot.mouseClick(panel.switch, CLICK)
    assert panel.running and panel.switch.isChecked()
    assert panel.address.text() == f"http://127.0.0.1:{port}/v1" and panel.warning.isHidden()
    qtbot.mouseClick(panel.copy_button, CLICK)
    assert QGuiApplication.clipboard().text() == panel.address.text()
    assert bridge.client.pid is not None  # one worker: the window's own

    client = openai.OpenAI(base_url=panel.address.text(), api_key="x", max_retries=0, timeout=300)
    model = client.models.list().data[0].id
    thread, result = _in_thread(
        lambda: client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": "Hi"}], max_tokens=4, temperature=0
        )
    )
    qtbot.waitUntil(lambda: not thread.is_alive(), timeout=ANSWER_TIMEOUT_MS)
    assert result[0].choices[0].message.content and result[0].usage.completion_tokens >= 1
    qtbot.waitUntil(lambda: panel.served.text() == "Requests served: 1", timeout=5_000)
    assert "1 served" in window.status.serving_label.text()

    # A client is being served: the window shows it, and its question waits its turn in
    # the window lane, ahead of a client that asks after it.
    order: list[Lane] = []

    def note(state: ServingState) -> None:
        if state.running is not None and (not order or order[-1] is not state.running):
            order.append(state.running)

    unsubscribe = panel.api.scheduler.subscribe(note)  # type: ignore[union-attr]

    def long_answer() -> Any:
        return client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": "Tell me"}],
            max_tokens=40, temperature=1.0, seed=1,
        )  # fmt: skip

    first, first_result = _in_thread(long_answer)
    qtbot.waitUntil(
        lambda: "Busy serving another client" in window.status.serving_label.text(), timeout=30_000
    )
    window.settings_panel.set_value("max_new_tokens", 6)
    window.settings_panel.set_value("temperature", 0.0)
    with qtbot.waitSignal(window.answer_ended, timeout=ANSWER_TIMEOUT_MS) as ended:
        assert window.send("Hello from the window")
        qtbot.waitUntil(lambda: panel.api.scheduler.state().waiting_window == 1, timeout=5_000)  # type: ignore[union-attr]
        second, second_result = _in_thread(long_answer)
        qtbot.waitUntil(lambda: panel.api.scheduler.state().waiting_api == 1, timeout=5_000)  # type: ignore[union-attr]
    assert ended.args == ["complete"] and window.assistant_views()[-1].message.text
    qtbot.waitUntil(
        lambda: not first.is_alive() and not second.is_alive(), timeout=ANSWER_TIMEOUT_MS
    )
    unsubscribe()
    assert order[:3] == [Lane.API, Lane.WINDOW, Lane.API]
    assert first_result[0].choices[0].message.content and second_result[0].choices[0].message
    qtbot.waitUntil(lambda: panel.served.text() == "Requests served: 3", timeout=5_000)

    # Off: the port is closed, the window answers on its own again.
    qtbot.mouseClick(panel.switch, CLICK)
    assert not panel.running and not panel.address.text() and not _port_open(port)
    assert not window.status.serving_label.isVisible()
    with qtbot.waitSignal(window.answer_ended, timeout=ANSWER_TIMEOUT_MS) as ended:
        assert window.send("And now?")
    assert ended.args == ["complete"]


def test_another_address_needs_a_key_and_warns(
    qtbot: Any, unstarted_window: MainWindow, monkeypatch: pytest.MonkeyPatch, data_dir: Path
) -> None:
    panel = unstarted_window.open_engine_dialog().local_api_panel
    panel.host.setText("0.0.0.0")
    port = free_port()
    panel.port.setValue(port)
    qtbot.mouseClick(panel.switch, CLICK)
    assert not panel.running and not panel.switch.isChecked()
    assert "reachable from the network" in panel.notice.text()

    panel.key_env.setText("WSMALL_TEST_KEY")
    monkeypatch.delenv("WSMALL_TEST_KEY", raising=False)
    qtbot.mouseClick(panel.switch, CLICK)
    assert not panel.running and "WSMALL_TEST_KEY is not set" in panel.notice.text()

    monkeypatch.setenv("WSMALL_TEST_KEY", "s3cret")
    qtbot.mouseClick(panel.switch, CLICK)
    try:
        assert panel.running and not panel.warning.isHidden()
        assert "reachable from the network" in panel.warning.text()
        assert "s3cret" not in panel.warning.text() + panel.address.text()
    finally:
        panel.stop()
    # Remembered for next time: where it listened and the variable's name, never the key.
    saved = EngineStore(SettingsStore(data_dir / "settings.ini")).local_api()
    assert (saved.host, saved.port, saved.key_env) == ("0.0.0.0", port, "WSMALL_TEST_KEY")
    assert "s3cret" not in (data_dir / "settings.ini").read_text()
