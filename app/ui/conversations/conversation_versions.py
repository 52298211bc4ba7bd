"""Versions in the window: `‹ 2 / 3 ›`, "Branch into a new conversation", hidden search hits.

The window asks (`version_requested`, `branch_requested`); this switches the version
shown in the store (`show_version`, `show_message`) or branches
(`branch_conversation`), then has the library show the store's shown path again.
Whatever the window has not saved yet is saved first, so the store knows every version.
"""

from __future__ import annotations

import logging
from typing import Protocol

from PySide6.QtCore import QObject

from app.storage import ConversationStore, StorageError
from app.ui.conversations.conversation_saver import ConversationSaver
from app.ui.main_window import MainWindow

log = logging.getLogger(__name__)


class Library(Protocol):
    """What this needs of the ConversationLibrary (which owns it)."""

    window: MainWindow
    store: ConversationStore | None
    saver: ConversationSaver | None
    current: int | None

    def notify(self, text: str, problem: bool = False, **action: object) -> None: ...

    def open(
        self, cid: int, message_id: int | None = None, reload: bool = False, focus: bool = False
    ) -> bool: ...


class ConversationVersions(QObject):
    """Switches versions and branches off for the library's window."""

    def __init__(self, library: Library, parent: QObject) -> None:
        super().__init__(parent)
        self.library = library
        window = library.window
        window.session.keeps_versions = library.store is not None
        window.version_requested.connect(self._on_version_requested)
        window.branch_requested.connect(self._on_branch_requested)

    def _stored_message(self, window_id: str) -> int | None:
        """The saved id of a message shown, after saving what is missing; None (said) if not."""
        saver = self.library.saver
        if saver is None or self.library.store is None:
            return None
        saver.sync()
        saver.flush()  # the store (read on this thread) and the saver's ids are current
        message_id = saver.store_message_id(window_id)
        if message_id is None:
            self.library.notify(
                "This message is not saved yet, so its versions cannot be shown; "
                "try again once saving works.",
                problem=True,
            )
        return message_id

    def show_step(self, window_id: str, step: int) -> bool:
        """Show the version `step` away (-1 older, +1 newer) of a message shown."""
        store, cid = self.library.store, self.library.current
        message_id = self._stored_message(window_id)
        if store is None or cid is None or message_id is None:
            return False
        try:
            siblings = store.siblings(message_id)
            target = siblings.index + step
            if not 0 <= target < siblings.count:
                return False
            store.show_version(siblings.ids[target])
        except StorageError as exc:
            self.library.notify(str(exc), problem=True)
            return False
        return self.library.open(cid, siblings.ids[target], reload=True, focus=True)

    def show_hidden(self, cid: int, message_id: int) -> bool:
        """Open a conversation at a message in a version not shown (a search hit)."""
        store = self.library.store
        if store is None:
            return False
        if self.library.saver is not None and cid == self.library.current:
            self.library.saver.sync()
            self.library.saver.flush()
        try:
            store.show_message(message_id)
        except StorageError as exc:
            self.library.notify(str(exc), problem=True)
            return False
        return self.library.open(cid, message_id, reload=True)

    def branch(self, window_id: str) -> int | None:
        """Copy the path up to a message into a new conversation and open it."""
        store = self.library.store
        message_id = self._stored_message(window_id)
        if store is None or message_id is None:
            return None
        try:
            new_id = store.branch_conversation(message_id)
        except StorageError as exc:
            self.library.notify(str(exc), problem=True)
            return None
        self.library.open(new_id)
        return new_id

    def _on_version_requested(self, window_id: str, step: int) -> None:
        self.show_step(window_id, step)

    def _on_branch_requested(self, window_id: str) -> None:
        self.branch(window_id)
