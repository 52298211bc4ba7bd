"""A real window driving a real worker with the demo checkpoint."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QEvent

from app.ui.bridge.bridge import WorkerBridge
from app.ui.main_window import MainWindow
from app.ui.settings.settings_store import SettingsStore
from tests.ui.engine_fixtures import engine_window, qt_event_loop, scripted_server  # noqa: F401

LOAD_TIMEOUT_MS = 120_000


def _close(window: MainWindow) -> None:
    window.close()
    window.bridge.close()
    window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


@pytest.fixture
def unstarted_window(qtbot: object, demo_bf16: Path, data_dir: Path) -> Iterator[MainWindow]:
    """The window with its bridge, before the worker is started."""
    bridge = WorkerBridge(demo_bf16)
    window = MainWindow(bridge, SettingsStore(data_dir / "settings.ini"))
    window.show()
    yield window
    _close(window)


@pytest.fixture
def window(qtbot: object, unstarted_window: MainWindow) -> MainWindow:
    """The window with the demo model loaded in a real worker process."""
    bridge = unstarted_window.bridge
    with qtbot.waitSignal(bridge.model_ready, timeout=LOAD_TIMEOUT_MS):  # type: ignore[attr-defined]
        bridge.start()
    return unstarted_window
