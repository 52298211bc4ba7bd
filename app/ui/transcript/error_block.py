"""An error in the transcript: what happened, what to do, and a Retry button."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget


class ErrorBlock(QFrame):
    """A failure shown in the transcript, with a Retry button."""

    retry_requested = Signal()

    def __init__(self, text: str, retry: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("errorBlock")
        self.setAccessibleName("Error")
        self.setAccessibleDescription(text)
        icon = QLabel("⚠", self)
        icon.setAccessibleName("")
        icon.setStyleSheet("color: #cf222e; font-size: 14pt;")
        self.label = QLabel(text, self)
        self.label.setObjectName("errorText")
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.label.setAccessibleName("Error message")
        self.retry_button = QPushButton("Retry", self)
        self.retry_button.setAccessibleName("Retry the last request")
        self.retry_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.retry_button.clicked.connect(self.retry_requested)
        self.retry_button.setVisible(retry)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(14, 10, 10, 10)
        layout.setSpacing(10)
        layout.addWidget(icon, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.retry_button, 0, Qt.AlignmentFlag.AlignVCenter)

    @property
    def text(self) -> str:
        return self.label.text()

    def set_retry_enabled(self, enabled: bool) -> None:
        self.retry_button.setEnabled(enabled)
