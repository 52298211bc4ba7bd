"""Keeps the saved conversation equal to what the window shows.

After every change in the window (a message sent, an answer started or ended,
messages dropped by Regenerate or Edit) and twice a second while an answer streams,
`sync` compares the window's messages with what it has saved and writes only the
difference: new messages, the streamed text since the last save, a final status, or
the removal of replaced messages. A StorageError stops nothing in the window: it is
reported with `save_failed`, and the next sync writes whatever is still missing.
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

    window_id: str
    store_id: int
    position: int
    status: Status
    length: int  # characters of text saved
    stats: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Record:
    """A window conversation and its saved counterpart."""

    store_id: int | None = None
    saved: list[_Saved] = field(default_factory=list)


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
        for saved in record.saved if record is not None else []:
            if saved.store_id == store_message_id:
                return saved.window_id
        return None

    def adopt(self, conversation: Conversation, store_id: int, message_ids: list[int]) -> None:
        """A conversation about to be shown, opened from the store: all of it is saved."""
        record = _Record(store_id)
        for position, (message, message_id) in enumerate(
            zip(conversation.messages, message_ids, strict=True)
        ):
            record.saved.append(
                _Saved(
                    message.id,
                    message_id,
                    position,
                    message.status,
                    len(message.text),
                    dict(message.stats),
                )
            )
        # Called before the window shows it; the conversation still shown may have an
        # answer to finish, so its record stays until then. Older ones are done with.
        shown = self.window.conversation.id
        self._records = {k: v for k, v in self._records.items() if k == shown}
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
        kept = 0
        for saved, message in zip(record.saved, conversation.messages, strict=False):
            if saved.window_id != message.id:
                break
            kept += 1
        if kept < len(record.saved):
            self.store.delete_messages_from(cid, record.saved[kept].position)
            del record.saved[kept:]
            changed = True
        for saved, message in zip(record.saved, conversation.messages, strict=False):
            if message.role is Role.ASSISTANT:
                changed = self._update_answer(saved, message) or changed
        for message in conversation.messages[len(record.saved) :]:
            self._add(cid, record, message)
            changed = True
        return changed

    def _add(self, cid: int, record: _Record, message: Message) -> None:
        if message.role is Role.USER:
            stored = self.store.add_user_message(
                cid, message.text, [Path(p) for p in message.images]
            )
            record.saved.append(
                _Saved(message.id, stored.id, stored.position, message.status, len(message.text))
            )
            return
        position = record.saved[-1].position + 1 if record.saved else 0
        saved = _Saved(
            message.id, self.store.begin_assistant_message(cid), position, Status.STREAMING, 0
        )
        record.saved.append(saved)  # before its text: a failure there must not add it twice
        self._update_answer(saved, message)

    def _update_answer(self, saved: _Saved, message: Message) -> bool:
        """Bring a saved answer up to date; True if its status changed."""
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

    def close(self) -> None:
        """Last save before the window closes; an answer still streaming is saved as stopped."""
        self._timer.stop()
        self.window.messages_changed.disconnect(self._on_messages_changed)
        self.window.answer_ended.disconnect(self._on_answer_ended)
        if not self.sync():
            return
        record = self._records.get(self.window.conversation.id)
        by_id = {m.id: m for m in self.window.conversation.messages}
        for saved in record.saved if record is not None else []:
            if saved.status is Status.STREAMING and saved.window_id in by_id:
                try:
                    self.store.finish_assistant_message(
                        saved.store_id, MessageStatus.STOPPED, text=by_id[saved.window_id].text
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
