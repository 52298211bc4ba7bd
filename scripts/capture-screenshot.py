"""Make docs/capture.png and docs/capture-chip.png: a capture in progress, then its chip.

Run on a virtual X server (the capture reads the real screen):

    xvfb-run -a -s "-screen 0 1280x800x24" .venv/bin/python scripts/capture-screenshot.py docs \
        [CHECKPOINT, default .demo/bf16]

A chart is put on the screen, the real window's Capture runs, a drag is made half-way and
the frozen overlay is saved; then the drag ends and the window, with its new chip, is saved.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QColor, QFont, QLinearGradient, QPainter, QPixmap
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLabel, QWidget

CHART = QRect(70, 60, 700, 460)
DRAG_FROM, DRAG_TO = QPoint(95, 118), QPoint(745, 505)
QUARTERS = [("Q1", 120), ("Q2", 205), ("Q3", 170), ("Q4", 290), ("Q5", 250), ("Q6", 330)]


def _chart() -> QPixmap:
    picture = QPixmap(CHART.size())
    picture.fill(QColor("white"))
    painter = QPainter(picture)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.fillRect(0, 0, CHART.width(), 30, QColor("#e6e8ec"))
    painter.setPen(QColor("#333"))
    painter.drawText(QRect(0, 0, CHART.width(), 30), Qt.AlignmentFlag.AlignCenter, "report.pdf")
    painter.setFont(QFont(painter.font().family(), 15, QFont.Weight.Bold))
    painter.drawText(30, 75, "Revenue by quarter (M€)")
    painter.setFont(QFont(painter.font().family(), 10))
    base = 420
    painter.drawLine(50, base, CHART.width() - 30, base)
    for index, (label, height) in enumerate(QUARTERS):
        left = 80 + index * 100
        painter.fillRect(left, base - height, 60, height, QColor("#3d7be0"))
        painter.drawText(left + 18, base + 20, label)
        painter.drawText(left + 16, base - height - 8, str(height // 3))
    painter.end()
    return picture


def _desktop(size: QRect) -> QWidget:
    class Desktop(QWidget):
        def paintEvent(self, event: object) -> None:  # noqa: N802 (Qt override)
            painter = QPainter(self)
            gradient = QLinearGradient(0, 0, 0, self.height())
            gradient.setColorAt(0, QColor("#2b3a55"))
            gradient.setColorAt(1, QColor("#5a6f8f"))
            painter.fillRect(self.rect(), gradient)
            painter.end()

    desktop = Desktop(None, Qt.WindowType.FramelessWindowHint)
    desktop.setGeometry(size)
    return desktop


def main(out: Path, model: Path) -> int:
    app = QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory() as data:
        os.environ["MAVERICK_DESK_DATA_DIR"] = data  # before the app reads where its data is
        from app.ui.app import make_application
        from app.ui.bridge.bridge import WorkerBridge
        from app.ui.main_window import MainWindow
        from app.ui.settings.settings_store import SettingsStore

        make_application()
        desktop = _desktop(app.primaryScreen().geometry())
        desktop.show()
        chart = QLabel(None, Qt.WindowType.FramelessWindowHint)
        chart.setPixmap(_chart())
        chart.setGeometry(CHART)
        chart.show()
        window = MainWindow(WorkerBridge(model), SettingsStore(Path(data) / "s.ini"))
        window.setGeometry(QRect(300, 140, 940, 620))
        window.show()
        QTest.qWaitForWindowExposed(window)
        QTest.qWait(300)
        window.capture_action.trigger()
        for _ in range(300):
            if window.capture.overlay is not None and window.capture.overlay.isVisible():
                break
            QTest.qWait(10)
        overlay = window.capture.overlay
        assert overlay is not None, "the overlay did not open"
        QTest.mousePress(overlay, Qt.MouseButton.LeftButton, pos=DRAG_FROM)
        QTest.mouseMove(overlay, DRAG_TO)
        QTest.qWait(100)
        overlay.grab().save(str(out / "capture.png"))
        QTest.mouseRelease(overlay, Qt.MouseButton.LeftButton, pos=DRAG_TO)
        QTest.qWait(500)
        window.composer.input.setPlainText("What is the trend in this chart?")
        QTest.qWait(300)
        window.grab().save(str(out / "capture-chip.png"))
        print(f"saved {out / 'capture.png'} and {out / 'capture-chip.png'}")
        window.close()
        window.bridge.close()
    return 0


if __name__ == "__main__":
    root = Path(__file__).resolve().parent.parent
    sys.exit(
        main(Path(sys.argv[1]), Path(sys.argv[2]) if len(sys.argv) > 2 else root / ".demo/bf16")
    )
