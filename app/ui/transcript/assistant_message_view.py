"""An answer from the model: a header, the rendered Markdown, a status and actions."""

from __future__ import annotations

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtWidgets import QApplication, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from app.documents.citations import parse_cite_url
from app.ui.markdown.markdown_html import FindCitations
from app.ui.markdown.markdown_view import MarkdownView
from app.ui.transcript.conversation import Message, Status
from app.ui.transcript.message_actions import action_button, actions_row
from app.ui.transcript.message_menu import MessageMenu
from app.ui.transcript.table_actions import TableActions
from app.ui.transcript.version_switcher import VersionSwitcher

AVATAR_PX = 26
_STATUS_TEXT = {
    Status.STREAMING: "",
    Status.STOPPED: "stopped",
    Status.ERROR: "incomplete: the answer failed",
    Status.COMPLETE: "",
    Status.INTERRUPTED: "interrupted: the app closed while it was written",
}


class AssistantMessageView(QWidget):
    """An answer: avatar and name, the Markdown body, table buttons, Copy and Regenerate."""

    regenerate_requested = Signal(str)  # message id
    link_clicked = Signal(QUrl)  # a web or mail address
    citation_clicked = Signal(str, int)  # a page citation: document name, page
    version_requested = Signal(str, int)  # message id, -1 older / +1 newer version
    branch_requested = Signal(str)  # message id

    def __init__(
        self,
        message: Message,
        name: str = "Maverick",
        parent: QWidget | None = None,
        citations: FindCitations | None = None,
    ) -> None:
        """`citations` finds the answer's page citations, drawn as links (see set_citations)."""
        super().__init__(parent)
        self.message = message
        self.setAccessibleName(f"Answer from {name}")
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)  # Alt+Left / Alt+Right switch versions
        avatar = QLabel(name[:1].upper(), self)
        avatar.setObjectName("avatar")
        avatar.setFixedSize(AVATAR_PX, AVATAR_PX)
        avatar.setAlignment(Qt.AlignmentFlag.AlignCenter)
        avatar.setAccessibleName("")
        self.role_label = QLabel(name, self)
        self.role_label.setObjectName("roleLabel")
        self.status_tag = QLabel(self)
        self.status_tag.setObjectName("statusTag")
        self.status_tag.setAccessibleName("Answer status")
        header = QHBoxLayout()
        header.setSpacing(8)
        header.addWidget(avatar)
        header.addWidget(self.role_label)
        header.addWidget(self.status_tag)
        header.addStretch(1)

        self.body = MarkdownView(self)
        self.body.citations = citations
        self.body.setAccessibleName("Answer text")
        self.body.link_clicked.connect(self._on_link_clicked)
        self.regenerate_button = action_button(
            "Regenerate", "Regenerate this answer", self._on_regenerate_clicked
        )
        self.copy_button = action_button("Copy", "Copy this answer", self._on_copy_clicked)
        self.versions = VersionSwitcher(message, self)
        self.versions.step_requested.connect(self._on_version_step_requested)
        self.actions_bar = actions_row(
            [self.versions, self.copy_button, self.regenerate_button], align_right=False
        )
        self.menu = MessageMenu(self, lambda: self.branch_requested.emit(self.message.id))

        body_column = QVBoxLayout()
        body_column.setContentsMargins(AVATAR_PX + 8, 0, 0, 0)
        body_column.setSpacing(2)
        self._blocks = QVBoxLayout()  # tool calls and their results, above the final text
        self._blocks.setContentsMargins(0, 0, 0, 0)
        self._blocks.setSpacing(8)
        body_column.addLayout(self._blocks)
        body_column.addWidget(self.body)
        self.tables = TableActions(self)
        body_column.addWidget(self.tables)
        body_column.addWidget(self.actions_bar)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addLayout(header)
        layout.addLayout(body_column)
        if message.status is Status.STREAMING:
            self.body.append(message.text)
            self.tables.append(message.text)
        else:
            self.body.set_text(message.text)
        self.set_status(message.status)

    def append(self, text: str) -> None:
        """Add `text` to the message and show it (a view used without a chat session)."""
        self.message.text += text
        self.show_appended(text)

    def show_appended(self, text: str) -> None:
        """Show `text`, which the session has already added to the message."""
        self.body.append(text)
        self.tables.append(text)

    def add_block(self, widget: QWidget) -> None:
        """Show `widget` (a tool call, its result) under the earlier ones, above the text."""
        self._blocks.addWidget(widget)
        self._blocks.setContentsMargins(0, 0, 0, 8)  # the answer's text starts apart from them

    def blocks(self) -> list[QWidget]:
        items = (self._blocks.itemAt(i) for i in range(self._blocks.count()))
        return [w for item in items if item is not None and (w := item.widget()) is not None]

    def restart_text(self) -> str:
        """Take back the text streamed so far (it led to tool calls); returns it."""
        text, self.message.text = self.message.text, ""
        self.body.clear()
        self.tables.set_markdown("")
        return text

    def set_status(self, status: Status) -> None:
        """Record where the answer stands; anything but streaming renders it as final."""
        self.message.status = status
        label = _STATUS_TEXT[status]
        self.status_tag.setText(label)
        self.status_tag.setVisible(bool(label))
        self.status_tag.setProperty("failed", "true" if status is Status.ERROR else "false")
        self.status_tag.style().unpolish(self.status_tag)
        self.status_tag.style().polish(self.status_tag)
        self.actions_bar.setVisible(status is not Status.STREAMING)
        if status is not Status.STREAMING:
            self.body.finish()
            if not self.tables.blocks:
                self.tables.set_markdown(self.message.text)
            self.menu.watch(list(self.body.browsers()))

    def set_citations(self, citations: FindCitations | None) -> None:
        """Link the page citations `citations` finds; a finished answer is drawn again."""
        self.body.citations = citations
        if self.message.status is not Status.STREAMING:
            self.body.set_text(self.message.text)

    def _on_link_clicked(self, url: QUrl) -> None:
        cited = parse_cite_url(url.toString())
        if cited is None:
            self.link_clicked.emit(url)
        else:
            self.citation_clicked.emit(*cited)

    def _on_copy_clicked(self) -> None:
        QApplication.clipboard().setText(self.message.text)

    def _on_regenerate_clicked(self) -> None:
        self.regenerate_requested.emit(self.message.id)

    def _on_version_step_requested(self, step: int) -> None:
        self.version_requested.emit(self.message.id, step)
