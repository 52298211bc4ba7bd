"""Run by test_capture_x11.py under a real X server: capture a region of a known pattern.

A pattern window is shown, the real main window (its worker not started) covers part of
it, its Capture action runs, the drag is made on the overlay, and the chip's file is left
for the test to compare. Then a second capture is cancelled with Esc. Prints one JSON line
of findings.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QColor, QImage, QPixmap
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLabel

from app.ui.bridge.bridge import WorkerBridge
from app.ui.main_window import MainWindow
from app.ui.settings.settings_store import SettingsStore

PATTERN = QRect(40, 30, 360, 240)  # where the pattern window lies (logical pixels)
REGION = QRect(90, 70, 210, 130)  # the dragged region, inside the pattern (logical pixels)
COVER = QRect(150, 100, 900, 640)  # the window that steps aside, over part of the region
WAIT_MS = 10_000


def pattern_rgb(x: int, y: int) -> tuple[int, int, int]:
    """The pattern's colour at device pixel (x, y) inside it: no two neighbours alike."""
    return (x * 5) % 256, (y * 3) % 256, (x * 7 + y * 11) % 256


def _pattern_pixmap(scale: int) -> QPixmap:
    """The pattern at one image pixel per device pixel (`scale` per logical pixel)."""
    image = QImage(PATTERN.width() * scale, PATTERN.height() * scale, QImage.Format.Format_RGB32)
    for y in range(image.height()):
        for x in range(image.width()):
            image.setPixelColor(x, y, QColor(*pattern_rgb(x, y)))
    pixmap = QPixmap.fromImage(image)
    pixmap.setDevicePixelRatio(scale)
    return pixmap


def _wait(app: QApplication, done: Callable[[], bool]) -> bool:
    for _ in range(WAIT_MS // 10):
        if done():
            return True
        app.processEvents()
        QTest.qWait(10)
    return done()


def main(model: Path, settings: Path) -> int:
    app = QApplication(sys.argv[:1])
    scale = round(app.primaryScreen().devicePixelRatio())  # QT_SCALE_FACTOR=2: HiDPI
    frameless = Qt.WindowType.FramelessWindowHint
    pattern = QLabel(None, frameless)
    pattern.setPixmap(_pattern_pixmap(scale))
    pattern.setGeometry(PATTERN)
    pattern.show()
    window = MainWindow(WorkerBridge(model), SettingsStore(settings))
    window.setGeometry(COVER)
    window.show()
    QTest.qWaitForWindowExposed(pattern)
    QTest.qWaitForWindowExposed(window)
    QTest.qWait(200)

    capture = window.capture
    found: dict[str, object] = {"screens": len(app.screens()), "scale": scale}
    images: list[QImage] = []
    capture.captured.connect(images.append)
    cancels: list[bool] = []
    capture.cancelled.connect(lambda: cancels.append(True))
    capture.failed.connect(lambda sentence: found.setdefault("failed", sentence))

    window.capture_action.trigger()
    found["overlay_shown"] = _wait(
        app, lambda: capture.overlay is not None and capture.overlay.isVisible()
    )
    found["window_hidden_while_choosing"] = window.isHidden()
    overlay = capture.overlay
    if overlay is not None:
        QTest.mousePress(overlay, Qt.MouseButton.LeftButton, pos=REGION.topLeft())
        QTest.mouseMove(overlay, REGION.center())
        QTest.mouseRelease(
            overlay,
            Qt.MouseButton.LeftButton,
            pos=REGION.topLeft() + QPoint(REGION.width(), REGION.height()),
        )
    found["captured"] = _wait(app, lambda: bool(images))
    found["window_back"] = window.isVisible()
    found["chips"] = [chip.path for chip in window.composer.chips()]
    found["notice"] = window.composer.notice.text()

    capture.start()
    _wait(app, lambda: capture.overlay is not None and capture.overlay.isVisible())
    if capture.overlay is not None:
        QTest.keyClick(capture.overlay, Qt.Key.Key_Escape)
    found["cancelled"] = _wait(app, lambda: bool(cancels))
    found["window_back_after_cancel"] = window.isVisible()
    found["captures"] = len(images)
    print(json.dumps(found))
    window.close()
    window.bridge.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
