"""The small flat buttons under a message (Copy, Regenerate, Edit and resend)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QToolButton, QWidget


def action_button(text: str, accessible: str, slot: Callable[[], None]) -> QToolButton:
    button = QToolButton()
    button.setObjectName("messageAction")
    button.setText(text)
    button.setAccessibleName(accessible)
    button.setToolTip(accessible)
    button.setCursor(Qt.CursorShape.PointingHandCursor)
    button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    button.clicked.connect(slot)
    return button


def actions_row(buttons: list[QWidget], align_right: bool) -> QWidget:
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(2)
    if align_right:
        layout.addStretch(1)
    for button in buttons:
        layout.addWidget(button)
    if not align_right:
        layout.addStretch(1)
    return row
