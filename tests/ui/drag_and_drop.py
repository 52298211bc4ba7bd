"""Deliver a file drop the way the platform does: to the top-level window at a point."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QWidget


def drop_files(window: QWidget, paths: Sequence[Path], over: QWidget) -> None:
    """Drop `paths` over the middle of `over`; Qt routes it to whichever widget accepts."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path)) for path in paths])
    point = QPointF(over.mapTo(window, over.rect().center()))
    handle = window.windowHandle()
    assert handle is not None, "the window must be shown"
    action = Qt.DropAction.CopyAction
    button = Qt.MouseButton.LeftButton
    modifier = Qt.KeyboardModifier.NoModifier
    QApplication.sendEvent(handle, QDragEnterEvent(point, action, mime, button, modifier))
    QApplication.sendEvent(handle, QDragMoveEvent(point, action, mime, button, modifier))
    QApplication.sendEvent(handle, QDropEvent(point, action, mime, button, modifier))
