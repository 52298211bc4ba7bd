"""Quick actions over the message box: one button per saved prompt (see app.documents)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QToolButton, QWidget

from app.documents.quick_actions import QuickAction


class QuickActionBar(QWidget):
    """A row of buttons; pressing one hands its prompt to the composer to edit or send."""

    action_chosen = Signal(str)  # the prompt

    def __init__(self, actions: list[QuickAction], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Quick actions")
        self.buttons: list[QToolButton] = []
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        for action in actions:
            button = QToolButton(self)
            button.setObjectName("quickAction")
            button.setText(action.title)
            button.setAccessibleName(f"Quick action: {action.title}")
            button.setToolTip(f"Put this prompt in the message box:\n{action.prompt}")
            button.setCursor(Qt.CursorShape.PointingHandCursor)
            button.clicked.connect(lambda _=False, prompt=action.prompt: self._on_clicked(prompt))
            layout.addWidget(button)
            self.buttons.append(button)
        layout.addStretch(1)

    def _on_clicked(self, prompt: str) -> None:
        self.action_chosen.emit(prompt)
