"""The scrolling transcript: messages and error blocks in a centred, readable column.

It follows a streaming answer down unless the user has scrolled up; then a "Jump to
latest" button appears until they come back to the bottom.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

COLUMN_MAX_WIDTH = 860
BOTTOM_SLACK_PX = 24  # within this of the bottom counts as "at the bottom"


class TranscriptView(QScrollArea):
    """The scrolling list of messages and error blocks."""

    # The user turned the wheel or pressed a button over the page (not over a message's
    # own controls): what a scroll anchor lets go on. A signal, not an event filter on the
    # viewport: a Python filter is called with the events of a viewport being destroyed.
    user_moved = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("transcript")
        self.setAccessibleName("Conversation transcript")
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)

        viewport_widget = QWidget()
        viewport_widget.setObjectName("transcriptViewport")
        outer = QHBoxLayout(viewport_widget)
        outer.setContentsMargins(24, 20, 24, 20)
        self._column = QWidget(viewport_widget)
        self._column.setObjectName("transcriptColumn")
        self._column.setMaximumWidth(COLUMN_MAX_WIDTH)
        outer.addStretch(1)
        outer.addWidget(self._column, 100)
        outer.addStretch(1)
        self._layout = QVBoxLayout(self._column)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(22)
        self._empty = self._empty_state()
        self._layout.addWidget(self._empty)
        self._layout.addStretch(1)
        self.setWidget(viewport_widget)

        self.following = True
        bar = self.verticalScrollBar()
        bar.valueChanged.connect(self._on_scroll_value_changed)
        bar.rangeChanged.connect(self._on_scroll_range_changed)

        self.jump_button = QPushButton("↓  Jump to latest", self)
        self.jump_button.setObjectName("jumpButton")
        self.jump_button.setAccessibleName("Jump to the latest message")
        self.jump_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.jump_button.clicked.connect(self.scroll_to_bottom)
        self.jump_button.hide()

    # ------------------------------------------------------------ content
    def add(self, widget: QWidget) -> QWidget:
        """Append a message or error block at the bottom."""
        self._empty.hide()
        self._layout.insertWidget(self._layout.count() - 1, widget)
        return widget

    def insert(self, index: int, widget: QWidget) -> QWidget:
        """Put a message or block at `index` among the items (0: the top)."""
        self._empty.hide()
        self._layout.insertWidget(1 + index, widget)  # the empty state sits at 0
        return widget

    def items(self) -> list[QWidget]:
        found = []
        for index in range(self._layout.count()):
            item = self._layout.itemAt(index)
            widget = item.widget() if item is not None else None
            if widget is not None and widget is not self._empty:
                found.append(widget)
        return found

    def remove_from(self, widget: QWidget) -> None:
        """Remove `widget` and everything after it."""
        items = self.items()
        if widget not in items:
            return
        for item in items[items.index(widget) :]:
            self.remove(item)

    def remove(self, widget: QWidget) -> None:
        self._layout.removeWidget(widget)
        widget.hide()
        widget.deleteLater()
        self._empty.setVisible(not self.items())

    def clear(self) -> None:
        for widget in self.items():
            self.remove(widget)
        self._empty.show()
        self.following = True
        self.jump_button.hide()

    # ------------------------------------------------------------ scrolling
    def scroll_to_bottom(self) -> None:
        self.following = True
        bar = self.verticalScrollBar()
        bar.setValue(bar.maximum())
        self.jump_button.hide()

    def _on_scroll_value_changed(self, value: int) -> None:
        at_bottom = value >= self.verticalScrollBar().maximum() - BOTTOM_SLACK_PX
        self.following = at_bottom
        self.jump_button.setVisible(not at_bottom)
        if not at_bottom:
            self._place_jump_button()

    def _on_scroll_range_changed(self, minimum: int, maximum: int) -> None:
        if self.following:
            self.verticalScrollBar().setValue(maximum)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        self._place_jump_button()

    def viewportEvent(self, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if event.type() in (QEvent.Type.Wheel, QEvent.Type.MouseButtonPress):
            self.user_moved.emit()
        return super().viewportEvent(event)

    def _place_jump_button(self) -> None:
        self.jump_button.adjustSize()
        x = (self.viewport().width() - self.jump_button.width()) // 2
        y = self.viewport().height() - self.jump_button.height() - 14
        self.jump_button.move(max(x, 0), max(y, 0))
        self.jump_button.raise_()

    # ------------------------------------------------------------ empty state
    @staticmethod
    def _empty_state() -> QWidget:
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 80, 0, 0)
        layout.setSpacing(8)
        title = QLabel("Ask about an image")
        title.setObjectName("emptyTitle")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        hint = QLabel(
            "Drop images anywhere on the window, paste them, or press Ctrl+O.\n"
            "Enter sends, Shift+Enter starts a new line."
        )
        hint.setObjectName("emptyHint")
        hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(title)
        layout.addWidget(hint)
        return box
