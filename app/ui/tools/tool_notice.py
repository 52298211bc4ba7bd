"""A sentence in the answer about the tools: an unknown tool, bad arguments, the loop limit."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget


class ToolNotice(QLabel):
    """One sentence, plain text (it may quote what the model wrote)."""

    def __init__(self, sentence: str, parent: QWidget | None = None) -> None:
        super().__init__(sentence, parent)
        self.setObjectName("toolNotice")
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setAccessibleName("Note about the tools")
        self.setStyleSheet("color: palette(placeholder-text); font-style: italic;")
