"""Search hits: the conversation's title over an excerpt with the matching words marked."""

from __future__ import annotations

import html

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QWidget

from app.storage import Role, SearchHit, hit_segments
from app.ui.look.theme import current_palette

ID_ROLE = Qt.ItemDataRole.UserRole
HIGHLIGHT = "#fde68a"
HIGHLIGHT_TEXT = "#1f2328"  # dark on yellow in both themes
ROW_SLACK_PX = 32


def hit_html(hit: SearchHit) -> str:
    """The hit as rich text: title line, then the excerpt with each match highlighted."""
    who = "You" if hit.role is Role.USER else "Maverick"
    title = html.escape(hit.conversation_title or "Untitled conversation")
    parts = []
    for text, is_match in hit_segments(hit.snippet):
        escaped = html.escape(text)
        mark = f"background-color:{HIGHLIGHT}; color:{HIGHLIGHT_TEXT}; font-weight:600"
        parts.append(f'<span style="{mark}">{escaped}</span>' if is_match else escaped)
    muted = current_palette().muted
    return f'<b>{title}</b><br><span style="color:{muted}">{who}:</span> {"".join(parts)}'


def matched_words(hit: SearchHit) -> list[str]:
    return [text for text, is_match in hit_segments(hit.snippet) if is_match]


class SearchResults(QListWidget):
    """The hits of a search; click or Enter opens the conversation at that message."""

    hit_chosen = Signal(int, int)  # conversation id, message id

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("searchResults")
        self.setAccessibleName("Search results")
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setWordWrap(True)
        self.itemClicked.connect(self._on_item_activated)
        self.itemActivated.connect(self._on_item_activated)
        self.hits: list[SearchHit] = []

    def set_hits(self, hits: list[SearchHit]) -> None:
        self.clear()
        self.hits = list(hits)
        for hit in hits:
            item = QListWidgetItem()
            item.setData(ID_ROLE, (hit.conversation_id, hit.message_id))
            plain = "".join(text for text, _ in hit_segments(hit.snippet))
            item.setData(Qt.ItemDataRole.AccessibleTextRole, f"{hit.conversation_title}: {plain}")
            label = QLabel(hit_html(hit))
            label.setObjectName("searchHit")
            label.setTextFormat(Qt.TextFormat.RichText)
            label.setWordWrap(True)
            label.setContentsMargins(8, 6, 8, 6)
            label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
            self.addItem(item)
            self.setItemWidget(item, label)
        self._fit_rows()
        if hits:
            self.setCurrentRow(0)

    def _fit_rows(self) -> None:
        """Each row as tall as its wrapped excerpt at the list's width."""
        # The style sheet pads the list and its items; leave room for that.
        width = max(self.viewport().width() - ROW_SLACK_PX, 120)
        for index in range(self.count()):
            item = self.item(index)
            label = self.itemWidget(item)
            if label is not None:
                item.setSizeHint(QSize(width, label.heightForWidth(width) + ROW_SLACK_PX // 2))

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        self._fit_rows()

    def _on_item_activated(self, item: QListWidgetItem) -> None:
        conversation_id, message_id = item.data(ID_ROLE)
        self.hit_chosen.emit(int(conversation_id), int(message_id))
