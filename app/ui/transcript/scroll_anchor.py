"""Scroll the transcript to one message and keep it there while the page settles.

A reopened conversation renders its answers a block per event-loop turn, so the
messages above the target grow for a while after it is shown; the anchor re-places
the target at the top each time the scroll range changes, until the page has settled
or the user scrolls or clicks.
"""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QObject, QPoint, QTimer
from PySide6.QtWidgets import QWidget

from app.ui.transcript.transcript_view import TranscriptView

SETTLE_MS = 1500
TOP_MARGIN_PX = 12


class ScrollAnchor(QObject):
    """Keeps `target` at the top of `transcript` for SETTLE_MS."""

    def __init__(self, transcript: TranscriptView, target: QWidget) -> None:
        super().__init__(transcript)
        self.target = target
        self.active = True
        bar = transcript.verticalScrollBar()
        bar.rangeChanged.connect(self._on_range_changed)
        transcript.user_moved.connect(self.release)
        QTimer.singleShot(0, self.place)
        QTimer.singleShot(SETTLE_MS, self.release)

    @property
    def transcript(self) -> TranscriptView:
        # Asked of the parent, not kept: a child that keeps its parent's wrapper can free it
        # from its own deletion, and PySide6 then deletes the parent (and this child) again.
        parent = self.parent()
        assert isinstance(parent, TranscriptView)
        return parent

    def target_top(self) -> int:
        """The target's top edge in transcript content coordinates."""
        content = self.transcript.widget()
        if content is None:
            return 0
        return self.target.mapTo(content, QPoint(0, 0)).y()

    def place(self) -> None:
        if not self.active:
            return
        if not shiboken6.isValid(self.target):
            # The message went (another conversation was opened). No `destroyed` connection
            # tells us: PySide6 crashed calling a released anchor from the signal of a
            # message destroyed after the anchor's own wrapper was gone.
            self.release()
            return
        self.transcript.following = False
        self.transcript.verticalScrollBar().setValue(max(0, self.target_top() - TOP_MARGIN_PX))

    def _on_range_changed(self, minimum: int, maximum: int) -> None:
        self.place()

    def release(self) -> None:
        if not self.active:
            return
        self.active = False
        if shiboken6.isValid(self) and shiboken6.isValid(self.transcript):
            self.transcript.verticalScrollBar().rangeChanged.disconnect(self._on_range_changed)
            self.transcript.user_moved.disconnect(self.release)
        self.deleteLater()
