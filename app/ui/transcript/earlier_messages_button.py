"""The "Show earlier messages" button atop a long reopened conversation (built on demand)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QWidget


class EarlierMessagesButton(QWidget):
    """A centred button at the top of the transcript; says how many messages are hidden."""

    requested = Signal()

    def __init__(self, hidden: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.button = QPushButton(self)
        self.button.setObjectName("jumpButton")  # the transcript's pill-shaped button look
        self.button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.button.clicked.connect(self.requested)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addStretch(1)
        layout.addWidget(self.button)
        layout.addStretch(1)
        self.set_hidden_count(hidden)

    def set_hidden_count(self, hidden: int) -> None:
        text = f"Show earlier messages ({hidden} more)"
        self.button.setText(f"↑  {text}")
        self.button.setAccessibleName(text)
