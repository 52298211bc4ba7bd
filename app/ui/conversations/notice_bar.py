"""A sentence over the conversation list, with an optional action (Undo, Try again) and ×."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget


class NoticeBar(QFrame):
    """Shows one notice at a time: information, or a problem (`problem=True`)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("noticeBar")
        self.setAccessibleName("Conversation notice")
        self.label = QLabel(self)
        self.label.setObjectName("noticeText")
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.action_button = QToolButton(self)
        self.action_button.setObjectName("noticeAction")
        self.action_button.clicked.connect(self._on_action_clicked)
        self.close_button = QToolButton(self)
        self.close_button.setObjectName("noticeClose")
        self.close_button.setText("×")
        self.close_button.setAccessibleName("Dismiss the notice")
        self.close_button.clicked.connect(self._on_close_clicked)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addStretch(1)
        buttons.addWidget(self.action_button)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 6, 6)
        layout.setSpacing(4)
        layout.addWidget(self.label)
        layout.addLayout(buttons)
        self._action: Callable[[], None] | None = None
        self.kind = ""
        self.hide()

    @property
    def text(self) -> str:
        return self.label.text() if self.isVisible() else ""

    def show_notice(
        self,
        text: str,
        *,
        problem: bool = False,
        action: str = "",
        on_action: Callable[[], None] | None = None,
        kind: str = "",
    ) -> None:
        """Show `text`; `kind` names the notice so that it can be withdrawn later."""
        self.kind = kind
        self.label.setText(text)
        self.setProperty("problem", "true" if problem else "false")
        self.style().unpolish(self)
        self.style().polish(self)
        self._action = on_action
        self.action_button.setText(action)
        self.action_button.setAccessibleName(action)
        self.action_button.setVisible(bool(action and on_action))
        self.show()

    def dismiss(self, kind: str = "") -> None:
        """Hide the notice (only if it is of `kind`, when given)."""
        if kind and kind != self.kind:
            return
        self.kind = ""
        self._action = None
        self.hide()

    def _on_close_clicked(self) -> None:
        self.dismiss()

    def _on_action_clicked(self) -> None:
        action = self._action
        self.dismiss()
        if action is not None:
            action()
