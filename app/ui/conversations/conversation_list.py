"""A list of saved conversations: the sidebar's (newest first) or the Trash's.

Click or Enter opens, F2 renames in place, Delete moves to the Trash; the context
menu (or the Menu key) has every action. In the Trash, Enter or a double click restores.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import QAction, QKeyEvent
from PySide6.QtWidgets import QAbstractItemView, QListWidget, QListWidgetItem, QMenu, QWidget

from app.storage import ConversationSummary

ID_ROLE = Qt.ItemDataRole.UserRole
EXPORT_FORMATS = (("md", "Markdown"), ("html", "HTML"), ("json", "JSON"))
UNTITLED = "Untitled conversation"


def when(stamp: str) -> str:
    """'2025-01-31T12:00:00.123456Z' -> '2025-01-31 12:00 UTC'."""
    return f"{stamp[:10]} {stamp[11:16]} UTC" if stamp else ""


class ConversationList(QListWidget):
    """Saved conversations as a list; `trash=True` lists the Trash instead."""

    conversation_chosen = Signal(int)
    rename_requested = Signal(int, str)
    trash_requested = Signal(int)
    restore_requested = Signal(int)
    export_requested = Signal(int, str)  # id, "md" | "html" | "json"

    def __init__(self, trash: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.trash = trash
        self.setObjectName("trashList" if trash else "conversationList")
        self.setAccessibleName("Conversations in the Trash" if trash else "Saved conversations")
        self.setUniformItemSizes(True)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setEditTriggers(QAbstractItemView.EditTrigger.EditKeyPressed)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._on_context_menu_requested)
        if not trash:  # in the Trash a click only selects; Enter or a double click restores
            self.itemClicked.connect(self._on_item_activated)
        self.itemActivated.connect(self._on_item_activated)
        self.itemChanged.connect(self._on_item_changed)
        self._titles: dict[int, str] = {}

    # ------------------------------------------------------------ contents
    def set_conversations(self, rows: list[ConversationSummary], current: int | None) -> None:
        """Show `rows` (in order) and select `current` if it is among them."""
        self.blockSignals(True)
        try:
            self.clear()
            self._titles = {}
            for row in rows:
                item = QListWidgetItem(row.title or UNTITLED)
                item.setData(ID_ROLE, row.id)
                stamp = row.deleted_at if self.trash and row.deleted_at else row.updated
                verb = "deleted" if self.trash else "last message"
                item.setToolTip(
                    f"{row.title or UNTITLED}\n{verb} {when(stamp)} · {row.message_count} messages"
                )
                if not self.trash:
                    item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable)
                self._titles[row.id] = row.title
                self.addItem(item)
                if row.id == current:
                    self.setCurrentItem(item)
            if current is None:
                self.setCurrentRow(-1)
        finally:
            self.blockSignals(False)

    def ids(self) -> list[int]:
        return [int(self.item(i).data(ID_ROLE)) for i in range(self.count())]

    def item_for(self, conversation_id: int) -> QListWidgetItem | None:
        for index in range(self.count()):
            item = self.item(index)
            if int(item.data(ID_ROLE)) == conversation_id:
                return item
        return None

    def start_rename(self, conversation_id: int) -> None:
        item = self.item_for(conversation_id)
        if item is not None and not self.trash:
            self.setCurrentItem(item)
            self.editItem(item)

    def _current_id(self) -> int | None:
        item = self.currentItem()
        return None if item is None else int(item.data(ID_ROLE))

    # ------------------------------------------------------------ events
    def _on_item_activated(self, item: QListWidgetItem) -> None:
        cid = int(item.data(ID_ROLE))
        if self.trash:
            self.restore_requested.emit(cid)
        else:
            self.conversation_chosen.emit(cid)

    def _on_item_changed(self, item: QListWidgetItem) -> None:
        cid = int(item.data(ID_ROLE))
        title = " ".join(item.text().split())
        if title != (self._titles.get(cid) or UNTITLED):
            self._titles[cid] = title
            self.rename_requested.emit(cid, title)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt override)
        cid = self._current_id()
        if cid is not None and self.state() != QAbstractItemView.State.EditingState:
            if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and not self.trash:
                self.trash_requested.emit(cid)
                return
            if event.key() == Qt.Key.Key_Menu:
                self._on_context_menu_requested(self.visualItemRect(self.currentItem()).center())
                return
        super().keyPressEvent(event)

    def _on_context_menu_requested(self, point: QPoint) -> None:
        item = self.itemAt(point)
        if item is None:
            return
        self.setCurrentItem(item)
        self.context_menu(int(item.data(ID_ROLE))).exec(self.viewport().mapToGlobal(point))

    def context_menu(self, cid: int) -> QMenu:
        """The actions for one conversation (public so that tests can trigger them)."""
        menu = QMenu(self)
        menu.setAccessibleName("Conversation actions")
        if self.trash:
            self._menu_action(menu, "Restore", lambda: self.restore_requested.emit(cid))
            return menu
        self._menu_action(menu, "Open", lambda: self.conversation_chosen.emit(cid))
        self._menu_action(menu, "Rename…", lambda: self.start_rename(cid))
        export = menu.addMenu("Export as")
        for fmt, label in EXPORT_FORMATS:
            self._menu_action(
                export, f"{label}…", lambda _=False, f=fmt: self.export_requested.emit(cid, f)
            )
        menu.addSeparator()
        self._menu_action(menu, "Move to Trash", lambda: self.trash_requested.emit(cid))
        return menu

    @staticmethod
    def _menu_action(menu: QMenu, text: str, slot: object) -> QAction:
        action = menu.addAction(text)
        action.triggered.connect(slot)
        return action
