"""The sidebar: search box, saved conversations (or search hits, or the Trash), notices.

It only shows things and reports what the user asked for; `ConversationLibrary` does
the work with the store.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.storage import ConversationSummary, SearchHit
from app.ui.conversations.conversation_list import EXPORT_FORMATS, ConversationList
from app.ui.conversations.notice_bar import NoticeBar
from app.ui.conversations.search_results import SearchResults

SEARCH_DELAY_MS = 150  # search once typing pauses, not on every key
SIDEBAR_WIDTH = 270


class ConversationSidebar(QWidget):
    """Saved conversations, search and Trash, left of the chat."""

    search_changed = Signal(str)
    trash_toggled = Signal(bool)
    empty_trash_requested = Signal()
    import_requested = Signal()
    export_current_requested = Signal(str)  # "md" | "html" | "json"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("conversationSidebar")
        self.setAccessibleName("Conversations sidebar")
        self.setMinimumWidth(200)
        self.resize(SIDEBAR_WIDTH, self.height())
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)

        title = QLabel("Conversations", self)
        title.setObjectName("sidebarTitle")
        self.menu_button = QToolButton(self)
        self.menu_button.setObjectName("sidebarMenu")
        self.menu_button.setText("⋯")
        self.menu_button.setAccessibleName("Import and export")
        self.menu_button.setToolTip("Import and export conversations")
        self.menu_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.menu_button.setMenu(self._file_menu())
        header = QHBoxLayout()
        header.setContentsMargins(12, 10, 8, 4)
        header.addWidget(title)
        header.addStretch(1)
        header.addWidget(self.menu_button)

        self.search_box = QLineEdit(self)
        self.search_box.setObjectName("searchBox")
        self.search_box.setPlaceholderText("Search all messages")
        self.search_box.setAccessibleName("Search conversations")
        self.search_box.setToolTip("Search all messages (Ctrl+F)")
        self.search_box.setClearButtonEnabled(True)
        self.search_box.textChanged.connect(self._on_search_text_changed)
        self.search_box.returnPressed.connect(self._on_search_return_pressed)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self.run_search)
        self.search_action = QAction("Search conversations", self)
        self.search_action.setShortcut(QKeySequence("Ctrl+F"))
        self.search_action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.search_action.triggered.connect(self.focus_search)
        self.addAction(self.search_action)

        self.notice = NoticeBar(self)
        self.conversations = ConversationList(trash=False, parent=self)
        self.results = SearchResults(self)
        self.no_results = QLabel("No messages match.", self)
        self.no_results.setObjectName("sidebarHint")
        self.no_results.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.trash_list = ConversationList(trash=True, parent=self)
        self.empty_trash_button = QPushButton("Empty Trash", self)
        self.empty_trash_button.setObjectName("emptyTrash")
        self.empty_trash_button.setAccessibleName("Empty the Trash: delete its conversations")
        self.empty_trash_button.clicked.connect(self.empty_trash_requested)
        self.restore_button = QPushButton("Restore", self)
        self.restore_button.setAccessibleName("Restore the selected conversation")
        self.restore_button.clicked.connect(self._on_restore_clicked)

        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.conversations)
        results_page = QWidget(self)
        results_layout = QVBoxLayout(results_page)
        results_layout.setContentsMargins(0, 0, 0, 0)
        results_layout.addWidget(self.results, 1)
        results_layout.addWidget(self.no_results)
        self.stack.addWidget(results_page)
        trash_page = QWidget(self)
        trash_layout = QVBoxLayout(trash_page)
        trash_layout.setContentsMargins(0, 0, 0, 0)
        trash_hint = QLabel("Conversations here can be restored until the Trash is emptied.")
        trash_hint.setObjectName("sidebarHint")
        trash_hint.setWordWrap(True)
        trash_layout.addWidget(trash_hint)
        trash_layout.addWidget(self.trash_list, 1)
        trash_buttons = QHBoxLayout()
        trash_buttons.addWidget(self.restore_button)
        trash_buttons.addStretch(1)
        trash_buttons.addWidget(self.empty_trash_button)
        trash_layout.addLayout(trash_buttons)
        self.stack.addWidget(trash_page)

        self.trash_button = QToolButton(self)
        self.trash_button.setObjectName("trashButton")
        self.trash_button.setCheckable(True)
        self.trash_button.setText("Trash")
        self.trash_button.setAccessibleName("Show the Trash")
        self.trash_button.toggled.connect(self._on_trash_button_toggled)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 8)
        layout.setSpacing(6)
        layout.addLayout(header)
        search_row = QHBoxLayout()
        search_row.setContentsMargins(10, 0, 10, 0)
        search_row.addWidget(self.search_box)
        layout.addLayout(search_row)
        layout.addWidget(self.notice)
        layout.addWidget(self.stack, 1)
        bottom = QHBoxLayout()
        bottom.setContentsMargins(10, 0, 10, 0)
        bottom.addWidget(self.trash_button)
        bottom.addStretch(1)
        layout.addLayout(bottom)

    def _file_menu(self) -> QMenu:
        menu = QMenu(self)
        menu.setAccessibleName("Import and export")
        self.import_action = menu.addAction("Import conversations (JSON)…")
        self.import_action.triggered.connect(self.import_requested)
        menu.addSeparator()
        self.export_actions: dict[str, QAction] = {}
        for fmt, label in EXPORT_FORMATS:
            action = menu.addAction(f"Export this conversation as {label}…")
            action.triggered.connect(lambda _=False, f=fmt: self.export_current_requested.emit(f))
            self.export_actions[fmt] = action
        return menu

    # ------------------------------------------------------------ showing
    def show_conversations(self, rows: list[ConversationSummary], current: int | None) -> None:
        self.conversations.set_conversations(rows, current)

    def show_trash(self, rows: list[ConversationSummary]) -> None:
        self.trash_list.set_conversations(rows, None)
        self.empty_trash_button.setEnabled(bool(rows))
        self.restore_button.setEnabled(bool(rows))
        self.trash_button.setText(f"Trash ({len(rows)})" if rows else "Trash")

    def show_hits(self, hits: list[SearchHit]) -> None:
        self.results.set_hits(hits)
        self.results.setVisible(bool(hits))
        self.no_results.setVisible(not hits)

    def show_page(self) -> None:
        """Search hits while there is a query, else the Trash or the conversations."""
        if self.trash_button.isChecked():
            self.stack.setCurrentIndex(2)
        elif self.search_box.text().strip():
            self.stack.setCurrentIndex(1)
        else:
            self.stack.setCurrentIndex(0)

    @property
    def showing_trash(self) -> bool:
        return self.trash_button.isChecked()

    # ------------------------------------------------------------ search
    def focus_search(self) -> None:
        self.search_box.setFocus()
        self.search_box.selectAll()

    def run_search(self) -> None:
        self._search_timer.stop()
        if self.trash_button.isChecked():
            self.trash_button.setChecked(False)
        self.search_changed.emit(self.search_box.text())
        self.show_page()

    def _on_search_text_changed(self, text: str) -> None:
        self._search_timer.start()

    def _on_search_return_pressed(self) -> None:
        self.run_search()
        if self.results.count():
            self.results.setFocus()

    # ------------------------------------------------------------ trash
    def _on_trash_button_toggled(self, checked: bool) -> None:
        self.trash_button.setAccessibleName(
            "Back to the conversations" if checked else "Show the Trash"
        )
        self.show_page()
        self.trash_toggled.emit(checked)
        (self.trash_list if checked else self.conversations).setFocus()

    def _on_restore_clicked(self) -> None:
        item = self.trash_list.currentItem() or self.trash_list.item(0)
        if item is not None:
            self.trash_list.restore_requested.emit(int(item.data(Qt.ItemDataRole.UserRole)))
