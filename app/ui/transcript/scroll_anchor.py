"""Scroll the transcript to one message and keep it there while the page settles.

A reopened conversation renders its answers a block per event-loop turn, so the
messages above the target grow for a while after it is shown; the anchor re-places
the target at the top each time the scroll range changes, until the page has settled
or the user scrolls or clicks.
"""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QEvent, QObject, QPoint, QTimer
from PySide6.QtWidgets import QWidget

from app.ui.transcript.transcript_view import TranscriptView

SETTLE_MS = 1500
TOP_MARGIN_PX = 12


class ScrollAnchor(QObject):
    """Keeps `target` at the top of `transcript` for SETTLE_MS."""

    def __init__(self, transcript: TranscriptView, target: QWidget) -> None:
        super().__init__(transcript)
        self.transcript = transcript
        self.target = target
        self.active = True
        bar = transcript.verticalScrollBar()
        bar.rangeChanged.connect(self._on_range_changed)
        transcript.viewport().installEventFilter(self)
        target.destroyed.connect(self.release)
        QTimer.singleShot(0, self.place)
        QTimer.singleShot(SETTLE_MS, self.release)

    def target_top(self) -> int:
        """The target's top edge in transcript content coordinates."""
        content = self.transcript.widget()
        if content is None:
            return 0
        return self.target.mapTo(content, QPoint(0, 0)).y()

    def place(self) -> None:
        if not self.active or not shiboken6.isValid(self.target):
            return
        self.transcript.following = False
        self.transcript.verticalScrollBar().setValue(max(0, self.target_top() - TOP_MARGIN_PX))

    def _on_range_changed(self, minimum: int, maximum: int) -> None:
        self.place()

    def release(self) -> None:
        if not self.active:
            return
        self.active = False
        if shiboken6.isValid(self.transcript):
            self.transcript.verticalScrollBar().rangeChanged.disconnect(self._on_range_changed)
            self.transcript.viewport().removeEventFilter(self)
        self.deleteLater()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if event.type() in (QEvent.Type.Wheel, QEvent.Type.MouseButtonPress):
            self.release()
        return False
