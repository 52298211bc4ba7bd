"""Saved conversations in the window: the sidebar, the saver and the store, wired together.

`attach_conversations(window)` opens the store in the data directory, puts the
sidebar beside the chat, reopens the last conversation and saves from then on. Every
StorageError becomes a sentence in the sidebar's notice bar; the window's
conversation is never touched by a failure.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QTimer, Signal
from PySide6.QtWidgets import QAbstractItemView, QWidget

from app.storage import ConversationStore, StorageError
from app.ui.conversations.conversation_saver import ConversationSaver
from app.ui.conversations.conversation_sidebar import ConversationSidebar
from app.ui.conversations.conversation_transfer import ConversationTransfer
from app.ui.conversations.conversation_versions import ConversationVersions
from app.ui.conversations.session_changes import SessionChanges
from app.ui.conversations.stored_conversation import window_conversation
from app.ui.main_window import MainWindow
from app.ui.transcript.scroll_anchor import ScrollAnchor

log = logging.getLogger(__name__)

SHOWN_AT_OPEN = 40  # messages built when a conversation opens; the rest on request
REFRESH_RETRY_MS = 300


class ConversationLibrary(QObject):
    """The controller between the sidebar, the window and the ConversationStore."""

    conversation_opened = Signal(int)  # stored id

    def __init__(
        self, window: MainWindow, store: ConversationStore | None, problem: str = ""
    ) -> None:
        """`store` None: it could not be opened, for the reason in `problem`."""
        super().__init__(window)
        self.window = window
        self.store = store
        self.sidebar = ConversationSidebar(window)
        window.add_sidebar(self.sidebar)
        self.saver = ConversationSaver(window, store) if store is not None else None
        self.current: int | None = None  # stored id of the conversation in the window
        self.anchor: ScrollAnchor | None = None

        sidebar = self.sidebar
        sidebar.conversations.conversation_chosen.connect(self._on_conversation_chosen)
        sidebar.conversations.rename_requested.connect(self.rename)
        sidebar.conversations.trash_requested.connect(self.move_to_trash)
        self.transfer = ConversationTransfer(self, parent=self)
        sidebar.conversations.export_requested.connect(self.transfer.on_export_requested)
        sidebar.trash_list.restore_requested.connect(self.restore)
        sidebar.results.hit_chosen.connect(self._on_hit_chosen)
        sidebar.search_changed.connect(self.search)
        sidebar.trash_toggled.connect(self._on_trash_toggled)
        sidebar.empty_trash_requested.connect(self._on_empty_trash_requested)
        sidebar.import_requested.connect(self.transfer.on_import_requested)
        sidebar.export_current_requested.connect(self.transfer.on_export_current_requested)
        window.session.observers.append(SessionChanges(self._on_messages_changed))
        self.versions = ConversationVersions(self, parent=self)
        window.installEventFilter(self)
        if self.saver is not None:
            self.saver.conversation_saved.connect(self._on_conversation_saved)
            self.saver.save_failed.connect(self._on_save_failed)
            self.saver.save_recovered.connect(self._on_save_recovered)
        if store is None:
            self.notify(f"{problem} Conversations are not saved in this session.", problem=True)
            self.sidebar.search_box.setEnabled(False)
        elif store.notices:  # e.g. a damaged database was moved aside
            self.notify("\n".join(store.notices), problem=True)
            store.notices.clear()
        self.refresh()

    # ------------------------------------------------------------ lists
    def refresh(self) -> None:
        """Reread the sidebar (and the Trash, and the search) from the store."""
        if self.store is None:
            return
        if self.sidebar.conversations.state() == QAbstractItemView.State.EditingState:
            QTimer.singleShot(REFRESH_RETRY_MS, self.refresh)  # never under a rename in progress
            return
        try:
            self.sidebar.show_conversations(self.store.list_conversations(), self.current)
            self.sidebar.show_trash(self.store.list_conversations(trash=True))
        except StorageError as exc:
            self.notify(str(exc), problem=True)
        if self.sidebar.search_box.text().strip():
            self.search(self.sidebar.search_box.text())

    def search(self, query: str) -> None:
        if self.store is None:
            return
        try:
            self.sidebar.show_hits(self.store.search(query) if query.strip() else [])
        except StorageError as exc:
            self.notify(str(exc), problem=True)

    def notify(self, text: str, problem: bool = False, **action: object) -> None:
        self.sidebar.notice.show_notice(text, problem=problem, **action)  # type: ignore[arg-type]

    # ------------------------------------------------------------ opening
    def reopen_last(self) -> None:
        """Show the conversation that was open when the app last closed."""
        if self.store is None:
            return
        try:
            cid = self.store.last_opened_conversation()
        except StorageError as exc:
            self.notify(str(exc), problem=True)
            return
        if cid is not None:
            self.open(cid)

    def open(
        self, cid: int, message_id: int | None = None, reload: bool = False, focus: bool = False
    ) -> bool:
        """Show a saved conversation; with `message_id`, scrolled to that message.

        `reload`: show the store's shown path again even if the conversation is shown
        (another version was chosen); an answer being written goes on. `focus`: give the
        message the keyboard focus (Alt+Left / Alt+Right go on switching).
        """
        if self.store is None or self.saver is None:
            return False
        chat = self.window.chat_view
        if cid == self.current and self.window.session.conversation.messages and not reload:
            shown = self._view_of(message_id) if message_id is not None else None
            if message_id is None or shown is not None:  # already on screen: no rebuild
                if shown is not None:
                    self.anchor = chat.keep_in_place(shown)
                return True
        if cid == self.current:
            self.saver.flush()  # what the writer still holds of it is in the store first
        try:
            stored = self.store.load_conversation(cid)
            documents = self.store.documents(cid)
        except StorageError as exc:
            self.notify(str(exc), problem=True)
            return False
        conversation, ids = window_conversation(stored, documents)
        self.saver.adopt(conversation, cid, ids)  # first: showing it makes the saver look
        first = max(0, len(ids) - SHOWN_AT_OPEN)
        if message_id in ids:
            first = min(first, ids.index(message_id))
        same = reload and cid == self.current
        views = self.window.open_conversation(conversation, first, keep_answer=same)
        self._set_current(cid)
        chat.offer_earlier()
        if message_id is not None and message_id in ids:
            target = views.get(conversation.messages[ids.index(message_id)].id)
            if target is not None:
                self.anchor = chat.keep_in_place(target)
                if focus:  # once the new view is shown (a hidden widget takes no focus)
                    QTimer.singleShot(0, target, target.setFocus)
        elif views:
            chat.scroll_to_bottom()
        self.conversation_opened.emit(cid)
        return True

    def _view_of(self, message_id: int) -> QWidget | None:
        """The view of a stored message in the window, if it has one."""
        window_id = self.saver.window_id(message_id) if self.saver is not None else None
        return self.window.chat_view.views.get(window_id) if window_id is not None else None

    def _set_current(self, cid: int | None) -> None:
        if cid == self.current or self.store is None:
            return
        self.current = cid
        try:
            if self.saver is not None:
                # On the writer thread, after the saves before it: a commit here would fall
                # in the turn in which a question is sent (bench/ui_smoothness.py).
                self.saver.writer().submit(
                    "remember the open conversation",
                    lambda store: store.set_last_opened_conversation(cid),
                )
            else:
                self.store.set_last_opened_conversation(cid)
        except StorageError as exc:
            self.notify(str(exc), problem=True)
        self.refresh()

    def _on_conversation_chosen(self, cid: int) -> None:
        self.open(cid)

    def _on_hit_chosen(self, cid: int, message_id: int) -> None:
        hit = next((h for h in self.sidebar.results.hits if h.message_id == message_id), None)
        if hit is not None and not hit.shown:
            self.versions.show_hidden(cid, message_id)
        else:
            self.open(cid, message_id)

    def _on_messages_changed(self) -> None:
        if self.saver is not None:
            self._set_current(self.saver.stored_id())

    def _on_conversation_saved(self, cid: int) -> None:
        if cid != self.current:
            self._set_current(cid)
        else:
            self.refresh()

    # ------------------------------------------------------------ saving problems
    def _on_save_failed(self, text: str) -> None:
        self.notify(text, problem=True, action="Try again", on_action=self._retry_save, kind="save")

    def _retry_save(self) -> None:
        if self.saver is not None:
            self.saver.sync()

    def _on_save_recovered(self) -> None:
        self.sidebar.notice.dismiss("save")
        self.notify("Saving works again; the conversation is saved.", kind="save")

    # ------------------------------------------------------------ rename, trash
    def rename(self, cid: int, title: str) -> None:
        if self.store is None:
            return
        try:
            self.store.rename(cid, title)
        except StorageError as exc:
            self.notify(str(exc), problem=True)
        # Not now: this runs while the list's editor commits, and refresh rebuilds the list.
        QTimer.singleShot(0, self.refresh)

    def move_to_trash(self, cid: int) -> None:
        if self.store is None:
            return
        was_open = cid == self.current
        try:
            title = self.store.load_conversation(cid).title or "Untitled conversation"
            self.store.move_to_trash(cid)
        except StorageError as exc:
            self.notify(str(exc), problem=True)
            return
        if was_open:
            self.window.new_chat()
        self.refresh()
        self.notify(
            f"Moved “{title}” to the Trash.",
            action="Undo",
            on_action=lambda: self.restore(cid, reopen=was_open),
            kind="trash",
        )

    def restore(self, cid: int, reopen: bool = False) -> None:
        if self.store is None:
            return
        try:
            self.store.restore(cid)
        except StorageError as exc:
            self.notify(str(exc), problem=True)
            return
        self.sidebar.notice.dismiss("trash")
        self.refresh()
        if reopen:
            self.open(cid)

    def _on_trash_toggled(self, shown: bool) -> None:
        self.refresh()

    def _on_empty_trash_requested(self) -> None:
        count = self.sidebar.trash_list.count()
        if not count:
            return
        self.notify(
            f"Delete the {count} conversation(s) in the Trash for good? This cannot be undone.",
            action="Delete for good",
            on_action=self.empty_trash,
            kind="empty",
        )

    def empty_trash(self) -> int:
        if self.store is None:
            return 0
        try:
            count = self.store.empty_trash()
        except StorageError as exc:
            self.notify(str(exc), problem=True)
            return 0
        self.refresh()
        self.notify(f"Deleted {count} conversation(s) for good.")
        return count

    # ------------------------------------------------------------ closing
    def close(self) -> None:
        """Save what the window shows and close the store (the window is closing)."""
        if self.store is None:
            return
        if self.saver is not None:
            self.saver.close()
        self.store.close()
        self.store = None

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if watched is self.window and event.type() == QEvent.Type.Close:
            self.close()
        return False


def attach_conversations(window: MainWindow, folder: Path | None = None) -> ConversationLibrary:
    """Open the store (the data directory by default) and give the window its sidebar.

    If the store cannot be opened (a newer database, a read-only folder) the window works
    without saving and the sidebar says why.
    """
    try:
        store: ConversationStore | None = ConversationStore.open(folder)
        problem = ""
    except StorageError as exc:
        log.warning("conversation store unavailable: %s", exc)
        store, problem = None, str(exc)
    library = ConversationLibrary(window, store, problem)
    library.reopen_last()
    return library
