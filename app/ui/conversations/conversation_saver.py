"""Keeps the saved conversation equal to what the window shows, writing off the GUI thread.

After every change in the window (a message sent, an answer started or ended, another
version shown) and twice a second while an answer streams, `sync` takes a copy of the
window's messages and hands it to the store's writer thread (`StoreWriter`: one
connection, writes in order, nothing lost on close), where `SavedBook` writes only the
difference: new messages (as new versions where they replace one), the streamed text
since the last save, a final status. An answer keeps being saved while it streams on a
version no longer shown. A StorageError stops nothing in the window: it comes back as
`save_failed` (a queued signal from the writer thread), and the next sync writes
whatever is still missing.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, QTimer, Signal

from app.storage import ConversationStore, StorageError
from app.storage.writer import StoreWriter
from app.ui.conversations.saved_book import Outcome, Record, Saved, SavedBook, Shot
from app.ui.conversations.session_changes import SessionChanges
from app.ui.main_window import MainWindow
from app.ui.transcript.conversation import Conversation, Message, Role, Status

log = logging.getLogger(__name__)

STREAM_SAVE_MS = 500  # a crash loses at most about this much of a streaming answer


class ConversationSaver(QObject):
    """Saves the window's conversation into the store, through a writer thread."""

    conversation_saved = Signal(int)  # stored id; a message was added, finished or removed
    save_failed = Signal(str)  # a sentence for the user
    save_recovered = Signal()  # saving works again after a failure
    _sync_ended = Signal(object)  # Outcome, emitted on the writer thread (queued here)

    def __init__(self, window: MainWindow, store: ConversationStore) -> None:
        """`store` is the GUI thread's connection (for reading); writes get their own."""
        super().__init__(window)
        self.window = window
        self.store = store
        self.failing = False
        self.book = SavedBook()
        self._live: dict[str, Message] = {}  # answers saved as streaming, until finished
        self._in_flight = 0  # syncs handed to the writer and not yet ended
        self._sync_ended.connect(self._on_sync_ended)
        self._writer: StoreWriter | None = None  # started by the first write
        self._timer = QTimer(self)
        self._timer.setInterval(STREAM_SAVE_MS)
        self._timer.timeout.connect(self._on_timer_timeout)
        self.session = window.session  # observed, never the window
        self._changes = SessionChanges(self._on_messages_changed, self._on_answer_ended)
        self.session.observers.append(self._changes)

    # ------------------------------------------------------------ the current conversation
    def _record(self) -> Record | None:
        return self.book.records.get(self.session.conversation.id)

    def stored_id(self, conversation: Conversation | None = None) -> int | None:
        record = self.book.records.get((conversation or self.session.conversation).id)
        return None if record is None else record.store_id

    def window_id(self, store_message_id: int) -> str | None:
        """The window's id for a saved message of the conversation shown, if it has one."""
        record = self._record()
        saved = record.by_store_id(store_message_id) if record is not None else None
        return None if saved is None else saved.window_id

    def store_message_id(self, window_id: str) -> int | None:
        """The stored id of a message of the conversation shown, once it is saved."""
        record = self._record()
        saved = record.saved.get(window_id) if record is not None else None
        return None if saved is None else saved.store_id

    def adopt(self, conversation: Conversation, store_id: int, message_ids: list[int]) -> None:
        """A conversation about to be shown, opened from the store: all of it is saved.

        Another version of the conversation already shown keeps what this saver
        follows: an answer still streaming is the window's own message again where
        `conversation` shows it, and is saved on where it does not.
        """
        self.flush()  # the writer is idle now: the book is this thread's until the next sync
        record = Record(store_id, documents=tuple(d.sha256 for d in conversation.documents))
        live: dict[int, tuple[Saved, Message]] = {}
        for old in self.book.records.values():
            if old.store_id == store_id:
                for saved in old.saved.values():
                    message = self._live.get(saved.window_id)
                    if message is not None and message.status is Status.STREAMING:
                        live[saved.store_id] = (saved, message)
        for index, (message, message_id) in enumerate(
            zip(conversation.messages, message_ids, strict=True)
        ):
            if message_id in live:
                saved, kept = live.pop(message_id)
                kept.version, kept.version_count = message.version, message.version_count
                conversation.messages[index] = kept
                record.saved[kept.id] = saved
                continue
            record.saved[message.id] = Saved(
                message.id,
                message_id,
                index,
                message.role,
                message.status,
                len(message.text),
                dict(message.stats),
                len(message.tool_turns),
            )
        for saved, _ in live.values():  # streaming on a version not shown
            record.saved[saved.window_id] = saved
        # Called before the window shows it; the conversation still shown may have an
        # answer to finish, so its record stays until then. Older ones are done with.
        shown = self.session.conversation.id
        self.book.records = {
            k: v for k, v in self.book.records.items() if k == shown and v.store_id != store_id
        }
        self.book.records[conversation.id] = record

    # ------------------------------------------------------------ saving
    def sync(self) -> bool:
        """Hand what the window shows to the writer; False (and save_failed) if it is closed."""
        conversation = self.session.conversation
        path = [Shot.of(m) for m in conversation.messages]
        on_path = {m.id for m in conversation.messages}
        for message in conversation.messages:
            if message.role is Role.ASSISTANT and message.status is Status.STREAMING:
                self._live[message.id] = message
        others = [Shot.of(m) for m in self._live.values() if m.id not in on_path]
        book, key = self.book, conversation.id
        documents = tuple(conversation.documents)
        if not path and not others and key not in book.records:
            return True  # nothing to save (and no writer thread started for it)
        try:
            self.writer().submit(
                "save the conversation",
                lambda store: book.sync(store, key, path, others, documents),
                self._sync_ended.emit,
            )
        except StorageError as exc:
            log.warning("saving the conversation failed: %s", exc)
            self.failing = True
            self.save_failed.emit(str(exc))
            return False
        self._in_flight += 1
        return True

    def writer(self) -> StoreWriter:
        """The writer thread, started on first use (a window that saves nothing has none).

        It is closed with the saver, or at the latest when the window is destroyed: its
        thread must not outlive the window (it would hold the process open).
        """
        if self._writer is None:
            writer = StoreWriter(self.store.folder, self._on_writer_error)
            self.window.destroyed.connect(lambda *_: writer.close())
            self._writer = writer
        return self._writer

    def flush(self) -> None:
        """Wait until every sync handed over so far is written (before reading the store)."""
        if self._writer is not None and self._writer.running:
            self._writer.wait()

    def _on_sync_ended(self, outcome: Outcome) -> None:
        self._in_flight = max(0, self._in_flight - 1)
        if outcome.error:
            log.warning("saving the conversation failed: %s", outcome.error)
            self.failing = True
            self.save_failed.emit(outcome.error)
            return
        for window_id in outcome.finished:
            message = self._live.get(window_id)
            if message is not None and message.status is not Status.STREAMING:
                del self._live[window_id]
        if self.failing:
            self.failing = False
            self.save_recovered.emit()
        if outcome.changed and outcome.store_id is not None:
            self.conversation_saved.emit(outcome.store_id)

    def _on_writer_error(self, sentence: str, exc: BaseException) -> None:
        """A write failed unexpectedly (on the writer thread): said like any other failure."""
        self._sync_ended.emit(Outcome(None, False, sentence))

    def close(self) -> None:
        """Last save before the window closes; an answer still streaming is saved as stopped.

        Returns once everything is written (the writer drains its queue, then closes).
        """
        self._timer.stop()
        self.session.observers.remove(self._changes)
        if self.sync() and self._writer is not None:
            shown = self.session.conversation.messages
            texts = {m.id: m.text for m in [*shown, *self._live.values()]}
            book, key = self.book, self.session.conversation.id
            self._writer.submit(
                "save the last answer", lambda store: book.stop_streaming(store, key, texts)
            )
        if self._writer is not None:
            self._writer.close()

    # ------------------------------------------------------------ the session's changes
    def _on_messages_changed(self) -> None:
        self.sync()
        if self.session.generating:
            self._timer.start()

    def _on_answer_ended(self) -> None:
        self._timer.stop()
        self.sync()

    def _on_timer_timeout(self) -> None:
        if not self.session.generating:
            self._timer.stop()
        # A failing disk is retried at the next message, not twice a second; a slow one
        # gets no second copy of the stream while the first is still being written.
        if not self.failing and not self._in_flight:
            self.sync()
