"""The overlay's drag and the desktop picture's crop, offscreen: coordinates and scale."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtTest import QTest

from app.ui.capture.desktop_grab import DesktopShot
from app.ui.capture.region_overlay import RegionOverlay
from app.ui.main_window import MainWindow


def _numbered(width: int, height: int) -> QImage:
    """Each pixel's colour encodes its position."""
    image = QImage(width, height, QImage.Format.Format_RGB32)
    for y in range(height):
        for x in range(width):
            image.setPixelColor(x, y, QColor(x, y, 0))
    return image


def test_a_hidpi_crop_takes_device_pixels_from_logical_coordinates() -> None:
    # Two monitors side by side, the left one at x = -100; everything at scale 2.
    shot = DesktopShot(_numbered(400, 100), QRect(-100, 0, 200, 50), 2.0)
    part = shot.crop(QRect(-90, 10, 20, 15))
    assert (part.width(), part.height(), part.devicePixelRatio()) == (40, 30, 1.0)
    assert part.pixelColor(0, 0) == QColor(20, 20, 0)
    assert part.pixelColor(39, 29) == QColor(59, 49, 0)
    assert shot.crop(QRect(500, 500, 10, 10)).isNull()  # off every screen


def test_dragging_either_way_gives_the_region_and_esc_cancels(qtbot: object) -> None:
    shot = DesktopShot(_numbered(300, 200), QRect(-100, 20, 300, 200), 1.0)
    overlay = RegionOverlay(shot)
    chosen: list[QRect] = []
    overlay.region_chosen.connect(chosen.append)
    cancels: list[bool] = []
    overlay.cancelled.connect(lambda: cancels.append(True))
    overlay.show()
    left = Qt.MouseButton.LeftButton
    QTest.mousePress(overlay, left, pos=QPoint(120, 90))  # bottom right to top left
    QTest.mouseMove(overlay, QPoint(60, 50))
    assert overlay.selection() == QRect(60, 50, 60, 40)
    QTest.mouseRelease(overlay, left, pos=QPoint(50, 40))
    QTest.mousePress(overlay, left, pos=QPoint(10, 10))  # a click: no region
    QTest.mouseRelease(overlay, left, pos=QPoint(11, 10))
    assert chosen == [QRect(-50, 60, 70, 50)]  # in desktop coordinates
    QTest.keyClick(overlay, Qt.Key.Key_Escape)
    assert cancels == [True]
    overlay.finish()
    overlay.deleteLater()


def test_without_a_screen_capture_says_why_and_the_window_stays(
    unstarted_window: MainWindow,
) -> None:
    unstarted_window.capture_action.trigger()
    assert unstarted_window.isVisible() and not unstarted_window.capture.busy
    assert unstarted_window.composer.notice.text() == (
        "Capture needs a screen to read; Qt runs here on the offscreen platform, which has none."
    )
    assert unstarted_window.capture_action.shortcut().toString() == "Ctrl+Shift+S"
