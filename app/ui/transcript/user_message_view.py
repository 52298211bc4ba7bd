"""A message the user sent: a bubble on the right with its text and image thumbnails."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QApplication, QFrame, QHBoxLayout, QVBoxLayout, QWidget

from app.ui.images.thumbnail_button import ThumbnailButton
from app.ui.markdown.markdown_html import render_plain_text
from app.ui.markdown.safe_browser import SafeTextBrowser
from app.ui.transcript.conversation import Message
from app.ui.transcript.message_actions import action_button, actions_row
from app.ui.transcript.message_menu import MessageMenu
from app.ui.transcript.version_switcher import VersionSwitcher

BUBBLE_PADDING = (14, 10, 14, 10)
MAX_SHARE = 0.8  # of the transcript column


class UserMessageView(QWidget):
    """The user's message in a bubble, with Copy and Edit."""

    edit_requested = Signal(str)  # message id
    version_requested = Signal(str, int)  # message id, -1 older / +1 newer version
    branch_requested = Signal(str)  # message id

    def __init__(self, message: Message, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.message = message
        self.setAccessibleName("Your message")
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)  # Alt+Left / Alt+Right switch versions
        self.bubble = QFrame(self)
        self.bubble.setObjectName("userBubble")
        inner = QVBoxLayout(self.bubble)
        inner.setContentsMargins(*BUBBLE_PADDING)
        inner.setSpacing(8)
        self.thumbnails = [ThumbnailButton(path) for path in message.images]
        thumbs_width = 0
        if self.thumbnails:
            row = QHBoxLayout()
            row.setSpacing(6)
            row.addStretch(1)
            for thumb in self.thumbnails:
                row.addWidget(thumb)
                thumbs_width += thumb.width() + 6
            inner.addLayout(row)
        self.text_view = SafeTextBrowser(self.bubble)
        self.text_view.setHtml(render_plain_text(message.text))
        self.text_view.setAccessibleName("Your message text")
        self.text_view.setVisible(bool(message.text.strip()))
        inner.addWidget(self.text_view)
        metrics = self.text_view.fontMetrics()
        text_width = max(
            (metrics.horizontalAdvance(line) for line in message.text.splitlines()), default=0
        )
        self._natural_width = max(text_width + 12, thumbs_width) + (
            BUBBLE_PADDING[0] + BUBBLE_PADDING[2]
        )

        self.versions = VersionSwitcher(message, self)
        self.versions.step_requested.connect(self._on_version_step_requested)
        actions = actions_row(
            [
                self.versions,
                action_button("Copy", "Copy your message", self._on_copy_clicked),
                action_button("Edit", "Edit and resend this message", self._on_edit_clicked),
            ],
            align_right=True,
        )
        column = QVBoxLayout()
        column.setSpacing(2)
        bubble_row = QHBoxLayout()
        bubble_row.addStretch(1)
        bubble_row.addWidget(self.bubble)
        column.addLayout(bubble_row)
        column.addWidget(actions)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addLayout(column)
        self.menu = MessageMenu(self, lambda: self.branch_requested.emit(self.message.id))
        self.menu.watch([self.text_view])

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt override)
        self.bubble.setFixedWidth(min(self._natural_width, int(self.width() * MAX_SHARE)))
        super().resizeEvent(event)

    def _on_copy_clicked(self) -> None:
        QApplication.clipboard().setText(self.message.text)

    def _on_edit_clicked(self) -> None:
        self.edit_requested.emit(self.message.id)

    def _on_version_step_requested(self, step: int) -> None:
        self.version_requested.emit(self.message.id, step)
