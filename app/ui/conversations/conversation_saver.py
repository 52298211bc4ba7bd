"""Keeps the saved conversation equal to what the window shows.

After every change in the window (a message sent, an answer started or ended, another
version shown) and twice a second while an answer streams, `sync` compares the window's
messages with what it has saved and writes only the difference: new messages, the
streamed text since the last save, a final status. Nothing is deleted: a message the
window does not know yet goes under the one before it in the window, so Regenerate and
Edit add a version beside the old one (docs/conversation-versions.md). An answer keeps
being saved while it streams on a version no longer shown. A StorageError stops nothing
in the window: it is reported with `save_failed`, and the next sync writes whatever is
still missing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from app.storage import ConversationStore, MessageStatus, StorageError
from app.storage.records import FINISHED_STATUSES
from app.ui.conversations.stored_conversation import STORED_STATUS
from app.ui.main_window import MainWindow
from app.ui.transcript.conversation import Conversation, Message, Role, Status

log = logging.getLogger(__name__)

STREAM_SAVE_MS = 500  # a crash loses at most about this much of a streaming answer


@dataclass
class _Saved:
    """What the store holds for one of the window's messages."""

    message: Message  # the window's own object: an answer streaming is followed there
    store_id: int
    position: int
    status: Status
    length: int  # characters of text saved
    stats: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Record:
    """A window conversation and its saved counterpart."""

    store_id: int | None = None
    saved: dict[str, _Saved] = field(default_factory=dict)  # by window message id

    def by_store_id(self, store_id: int) -> _Saved | None:
        return next((s for s in self.saved.values() if s.store_id == store_id), None)


class ConversationSaver(QObject):
    """Saves the window's conversation into a ConversationStore (GUI thread only)."""

    conversation_saved = Signal(int)  # stored id; a message was added, finished or removed
    save_failed = Signal(str)  # a sentence for the user
    save_recovered = Signal()  # saving works again after a failure

    def __init__(self, window: MainWindow, store: ConversationStore) -> None:
        super().__init__(window)
        self.window = window
        self.store = store
        self.failing = False
        self._records: dict[str, _Record] = {}
        self._timer = QTimer(self)
        self._timer.setInterval(STREAM_SAVE_MS)
        self._timer.timeout.connect(self._on_timer_timeout)
        window.messages_changed.connect(self._on_messages_changed)
        window.answer_ended.connect(self._on_answer_ended)

    # ------------------------------------------------------------ the current conversation
    def stored_id(self, conversation: Conversation | None = None) -> int | None:
        record = self._records.get((conversation or self.window.conversation).id)
        return None if record is None else record.store_id

    def window_id(self, store_message_id: int) -> str | None:
        """The window's id for a saved message of the conversation shown, if it has one."""
        record = self._records.get(self.window.conversation.id)
        saved = record.by_store_id(store_message_id) if record is not None else None
        return None if saved is None else saved.message.id

    def store_message_id(self, window_id: str) -> int | None:
        """The stored id of a message of the conversation shown, once it is saved."""
        record = self._records.get(self.window.conversation.id)
        saved = record.saved.get(window_id) if record is not None else None
        return None if saved is None else saved.store_id

    def adopt(self, conversation: Conversation, store_id: int, message_ids: list[int]) -> None:
        """A conversation about to be shown, opened from the store: all of it is saved.

        Another version of the conversation already shown keeps what this saver
        follows: an answer still streaming is the window's own message again where
        `conversation` shows it, and is saved on where it does not.
        """
        record = _Record(store_id)
        same = [r for r in self._records.values() if r.store_id == store_id]
        live = {s.store_id: s for r in same for s in r.saved.values() if _unfinished(s)}
        for index, (message, message_id) in enumerate(
            zip(conversation.messages, message_ids, strict=True)
        ):
            if message_id in live:
                kept = live.pop(message_id)
                kept.message.version = message.version
                kept.message.version_count = message.version_count
                conversation.messages[index] = message = kept.message
                record.saved[message.id] = kept
                continue
            record.saved[message.id] = _Saved(
                message, message_id, index, message.status, len(message.text), dict(message.stats)
            )
        for saved in live.values():  # streaming on a version not shown
            record.saved[saved.message.id] = saved
        # Called before the window shows it; the conversation still shown may have an
        # answer to finish, so its record stays until then. Older ones are done with.
        shown = self.window.conversation.id
        self._records = {
            k: v for k, v in self._records.items() if k == shown and v.store_id != store_id
        }
        self._records[conversation.id] = record

    # ------------------------------------------------------------ saving
    def sync(self) -> bool:
        """Write what the window shows and the store lacks; False (and save_failed) on error."""
        conversation = self.window.conversation
        try:
            changed = self._sync(conversation)
        except StorageError as exc:
            log.warning("saving the conversation failed: %s", exc, exc_info=True)
            self.failing = True
            self.save_failed.emit(
                f"{exc} The conversation stays in the window; it is saved as soon as "
                "saving works again."
            )
            return False
        if self.failing:
            self.failing = False
            self.save_recovered.emit()
        record = self._records.get(conversation.id)
        if changed and record is not None and record.store_id is not None:
            self.conversation_saved.emit(record.store_id)
        return True

    def _sync(self, conversation: Conversation) -> bool:
        record = self._records.get(conversation.id)
        if record is None:
            if not conversation.messages:
                return False
            # Only the shown conversation is kept: the others were saved before they left.
            record = _Record()
            self._records = {conversation.id: record}
        changed = False
        if record.store_id is None:
            record.store_id = self.store.create_conversation()
            changed = True
        cid = record.store_id
        parent: _Saved | None = None
        for index, message in enumerate(conversation.messages):
            saved = record.saved.get(message.id)
            if saved is None:
                saved = self._add(cid, record, message, parent, index)
                changed = True
            parent = saved
        on_path = {m.id for m in conversation.messages}
        for saved in list(record.saved.values()):
            if saved.message.role is Role.ASSISTANT:
                changed = self._update_answer(saved) or changed
                if saved.message.id not in on_path and _discarded(saved):
                    changed = self._delete(cid, record, saved) or changed
        return changed

    def _add(
        self, cid: int, record: _Record, message: Message, parent: _Saved | None, index: int
    ) -> _Saved:
        """Save a message under `parent`: beside the versions already there, if any."""
        after = None if parent is None else parent.store_id
        if message.role is Role.USER:
            images = [Path(p) for p in message.images]
            root = next((s for s in record.saved.values() if s.position == 0), None)
            if after is None and root is not None:  # a first question edited
                stored = self.store.add_question_version(root.store_id, message.text, images)
            else:
                stored = self.store.add_user_message(cid, message.text, images, after=after)
            saved = _Saved(message, stored.id, index, message.status, len(message.text))
            record.saved[message.id] = saved
            return saved
        saved = _Saved(
            message,
            self.store.begin_assistant_message(cid, after=after),
            index,
            Status.STREAMING,
            0,
        )
        record.saved[message.id] = saved  # before its text: a failure there must not add it twice
        self._update_answer(saved)
        return saved

    def _update_answer(self, saved: _Saved) -> bool:
        """Bring a saved answer up to date; True if its status changed."""
        message = saved.message
        if message.status is Status.STREAMING:
            if len(message.text) > saved.length:
                self.store.append_streaming_text(saved.store_id, message.text[saved.length :])
                saved.length = len(message.text)
            return False
        status = STORED_STATUS[message.status]
        unchanged = (
            saved.status is message.status
            and saved.length == len(message.text)
            and saved.stats == message.stats
        )
        if unchanged or status not in FINISHED_STATUSES:
            return False
        self.store.finish_assistant_message(
            saved.store_id, status, text=message.text, stats=message.stats
        )
        saved.status, saved.length, saved.stats = message.status, len(message.text), message.stats
        return True

    def _delete(self, cid: int, record: _Record, saved: _Saved) -> bool:
        """Remove an empty failed answer the window dropped (it is no version worth keeping)."""
        del record.saved[saved.message.id]
        path = self.store.shown_path(cid)
        if saved.position < len(path) and path[saved.position].id == saved.store_id:
            return self.store.delete_messages_from(cid, saved.position) > 0
        return False  # shown no longer: it stays, as the failed version it is

    def close(self) -> None:
        """Last save before the window closes; an answer still streaming is saved as stopped."""
        self._timer.stop()
        self.window.messages_changed.disconnect(self._on_messages_changed)
        self.window.answer_ended.disconnect(self._on_answer_ended)
        if not self.sync():
            return
        record = self._records.get(self.window.conversation.id)
        for saved in list(record.saved.values()) if record is not None else []:
            if saved.status is Status.STREAMING and saved.message.role is Role.ASSISTANT:
                try:
                    self.store.finish_assistant_message(
                        saved.store_id, MessageStatus.STOPPED, text=saved.message.text
                    )
                except StorageError:
                    log.exception("could not save the last answer while closing")

    # ------------------------------------------------------------ window signals
    def _on_messages_changed(self) -> None:
        self.sync()
        if self.window.generating:
            self._timer.start()

    def _on_answer_ended(self, status: str) -> None:
        self._timer.stop()
        self.sync()

    def _on_timer_timeout(self) -> None:
        if not self.window.generating:
            self._timer.stop()
        if not self.failing:  # a failing disk is retried at the next message, not twice a second
            self.sync()


def _unfinished(saved: _Saved) -> bool:
    return saved.message.role is Role.ASSISTANT and saved.status is Status.STREAMING


def _discarded(saved: _Saved) -> bool:
    return saved.message.status is Status.ERROR and not saved.message.text
