"""The frozen desktop, full screen, where the person drags the region to ask about."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, Qt, Signal
from PySide6.QtGui import QColor, QKeyEvent, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QWidget

from app.ui.capture.desktop_grab import DesktopShot

HINT = "Drag over the part of the screen to ask about · Esc cancels"
SHADE = QColor(0, 0, 0, 110)
MIN_SIDE = 2  # a click, not a drag: ignored, so a slip of the mouse attaches nothing


class RegionOverlay(QWidget):
    """Shows `shot` over every screen; emits the dragged region or that Esc was pressed."""

    region_chosen = Signal(QRect)  # logical desktop coordinates
    cancelled = Signal()

    def __init__(self, shot: DesktopShot) -> None:
        super().__init__(
            None,
            Qt.WindowType.Window
            | Qt.WindowType.FramelessWindowHint
            | Qt.WindowType.WindowStaysOnTopHint,
        )
        self.shot = shot
        self._origin: QPoint | None = None
        self._selection = QRect()
        self.setAccessibleName("Screen capture: drag a region")
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setMouseTracking(True)
        self.setGeometry(shot.geometry)

    def selection(self) -> QRect:
        """The region dragged so far, in this widget's coordinates."""
        return QRect(self._selection)

    def open(self) -> None:
        self.show()
        self.setGeometry(self.shot.geometry)  # a window manager may have moved it
        self.raise_()
        self.activateWindow()
        self.setFocus()
        self.grabKeyboard()  # Esc must reach us even where the WM gives no focus

    def finish(self) -> None:
        self.releaseKeyboard()
        self.hide()

    # ------------------------------------------------------------ events
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        if event.button() == Qt.MouseButton.LeftButton:
            self._origin = event.position().toPoint()
            self._selection = QRect(self._origin, self._origin)
            self.update()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        if self._origin is not None:
            self._selection = _span(self._origin, event.position().toPoint())
            self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        if event.button() != Qt.MouseButton.LeftButton or self._origin is None:
            return
        self._selection = _span(self._origin, event.position().toPoint())
        self._origin = None
        self.update()
        if self._selection.width() >= MIN_SIDE and self._selection.height() >= MIN_SIDE:
            self.region_chosen.emit(self._selection.translated(self.shot.geometry.topLeft()))

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt override)
        if event.key() == Qt.Key.Key_Escape:
            self.cancelled.emit()
        else:
            super().keyPressEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt override)
        painter = QPainter(self)
        painter.drawImage(self.rect(), self.shot.image)
        area = self._selection
        for shaded in _around(self.rect(), area):
            painter.fillRect(shaded, SHADE)
        if not area.isEmpty():
            painter.setPen(QPen(QColor("#4da3ff"), 1))
            painter.drawRect(area.adjusted(0, 0, -1, -1))
            painter.setPen(QColor("white"))
            painter.drawText(area.topLeft() + QPoint(4, -6), f"{area.width()} × {area.height()}")
        else:
            painter.setPen(QColor("white"))
            painter.drawText(self.rect().adjusted(0, 24, 0, 0), Qt.AlignmentFlag.AlignHCenter, HINT)
        painter.end()


def _span(start: QPoint, end: QPoint) -> QRect:
    """The rectangle between two corners; its size is the distance dragged."""
    left, right = sorted((start.x(), end.x()))
    top, bottom = sorted((start.y(), end.y()))
    return QRect(left, top, right - left, bottom - top)


def _around(whole: QRect, hole: QRect) -> list[QRect]:
    """Rectangles that cover `whole` except `hole` (all of it when `hole` is empty)."""
    if hole.isEmpty():
        return [whole]
    return [
        QRect(whole.left(), whole.top(), whole.width(), hole.top() - whole.top()),
        QRect(whole.left(), hole.bottom() + 1, whole.width(), whole.bottom() - hole.bottom()),
        QRect(whole.left(), hole.top(), hole.left() - whole.left(), hole.height()),
        QRect(hole.right() + 1, hole.top(), whole.right() - hole.right(), hole.height()),
    ]
