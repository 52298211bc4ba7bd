"""What the saver has written, and the diff it writes next (run on the store's writer thread).

No Qt here. The saver hands over `Shot`s, frozen copies of the window's messages taken
on the GUI thread, so the writer thread never reads a message the window is changing.
A message the book has not saved goes under the one before it in the window: beside
the versions already there, so Regenerate and Edit add versions and nothing is deleted
(docs/conversation-versions.md). Only an empty failed answer the window dropped is
removed again.

The book is touched by the writer thread while a write runs, and by the GUI thread only
when the writer is idle (after `StoreWriter.wait`), or for single dictionary look-ups.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.chat.vocabulary import DocumentRef
from app.storage import ConversationStore, MessageStatus, StorageError
from app.storage.records import FINISHED_STATUSES
from app.ui.conversations.stored_conversation import STORED_STATUS
from app.ui.transcript.conversation import Message, Role, Status


@dataclass(frozen=True)
class Shot:
    """A window message as it was when the saver looked."""

    id: str
    role: Role
    text: str
    images: tuple[str, ...]
    status: Status
    stats: dict[str, Any]
    tool_turns: tuple[dict[str, Any], ...] = ()  # copies, as the tool turns were then

    @classmethod
    def of(cls, message: Message) -> Shot:
        return cls(
            message.id,
            message.role,
            message.text,
            tuple(message.images),
            message.status,
            dict(message.stats),
            tuple(copy.deepcopy(message.tool_turns)),
        )


@dataclass
class Saved:
    """What the store holds for one of the window's messages."""

    window_id: str
    store_id: int
    position: int
    role: Role
    status: Status
    length: int  # characters of text saved
    stats: dict[str, Any] = field(default_factory=dict)
    tool_turns: int = 0  # how many tool turns are saved


@dataclass
class Record:
    """A window conversation and its saved counterpart."""

    store_id: int | None = None
    saved: dict[str, Saved] = field(default_factory=dict)  # by window message id
    documents: tuple[str, ...] = ()  # the hashes of the documents saved, in order

    def by_store_id(self, store_id: int) -> Saved | None:
        return next((s for s in list(self.saved.values()) if s.store_id == store_id), None)


@dataclass(frozen=True)
class Outcome:
    """How a sync went, for the GUI thread: what to signal."""

    store_id: int | None
    changed: bool
    error: str = ""  # a sentence for the user
    finished: tuple[str, ...] = ()  # answers whose final state is now saved


@dataclass
class SavedBook:
    """The saver's records, by window conversation id."""

    records: dict[str, Record] = field(default_factory=dict)

    def sync(
        self,
        store: ConversationStore,
        key: str,
        path: list[Shot],
        others: list[Shot],
        documents: tuple[DocumentRef, ...] = (),
    ) -> Outcome:
        """Write what the store lacks of `path`, `others` and `documents`.

        `path`: the messages shown; `others`: answers streaming on a version not shown;
        `documents`: the conversation's documents (saved once it has a message).
        """
        record = self.records.get(key)
        try:
            if record is None:
                if not path:
                    return Outcome(None, False)
                # Only the shown conversation is kept: the others were saved before they left.
                record = Record()
                self.records = {key: record}
            outcome = self._sync(store, record, path, others)
            shas = tuple(d.sha256 for d in documents)
            if record.store_id is not None and shas != record.documents:
                files = [(d.sha256, d.name, Path(d.path)) for d in documents]
                store.set_documents(record.store_id, files)
                record.documents = shas
            return outcome
        except StorageError as exc:
            return Outcome(
                record.store_id if record else None,
                False,
                f"{exc} The conversation stays in the window; it is saved as soon as "
                "saving works again.",
            )

    def _sync(
        self, store: ConversationStore, record: Record, path: list[Shot], others: list[Shot]
    ) -> Outcome:
        changed = False
        if record.store_id is None:
            record.store_id = store.create_conversation()
            changed = True
        cid = record.store_id
        parent: Saved | None = None
        for index, shot in enumerate(path):
            saved = record.saved.get(shot.id)
            if saved is None:
                saved = self._add(store, cid, record, shot, parent, index)
                changed = True
            parent = saved
        finished = []
        for shot in [*path, *others]:
            saved = record.saved.get(shot.id)
            if saved is None or shot.role is not Role.ASSISTANT:
                continue
            changed = _update_answer(store, saved, shot) or changed
            if shot.status is not Status.STREAMING:
                finished.append(shot.id)
        for shot in others:
            if shot.status is Status.ERROR and not shot.text and shot.id in record.saved:
                changed = self._delete(store, cid, record, record.saved[shot.id]) or changed
        return Outcome(cid, changed, finished=tuple(finished))

    def _add(
        self,
        store: ConversationStore,
        cid: int,
        record: Record,
        shot: Shot,
        parent: Saved | None,
        index: int,
    ) -> Saved:
        """Save a message under `parent`: beside the versions already there, if any."""
        after = None if parent is None else parent.store_id
        if shot.role is Role.USER:
            images = [Path(p) for p in shot.images]
            root = next((s for s in record.saved.values() if s.position == 0), None)
            if after is None and root is not None:  # a first question edited
                stored = store.add_question_version(root.store_id, shot.text, images)
            else:
                stored = store.add_user_message(cid, shot.text, images, after=after)
            saved = Saved(shot.id, stored.id, index, shot.role, shot.status, len(shot.text))
            record.saved[shot.id] = saved
            return saved
        answer_id = store.begin_assistant_message(cid, after=after)
        saved = Saved(shot.id, answer_id, index, shot.role, Status.STREAMING, 0)
        record.saved[shot.id] = saved  # before its text: a failure there must not add it twice
        _update_answer(store, saved, shot)
        return saved

    @staticmethod
    def _delete(store: ConversationStore, cid: int, record: Record, saved: Saved) -> bool:
        """Remove an empty failed answer the window dropped (it is no version worth keeping)."""
        del record.saved[saved.window_id]
        path = store.shown_path(cid)
        if saved.position < len(path) and path[saved.position].id == saved.store_id:
            return store.delete_messages_from(cid, saved.position) > 0
        return False  # shown no longer: it stays, as the failed version it is

    def stop_streaming(self, store: ConversationStore, key: str, texts: dict[str, str]) -> None:
        """The window is closing: answers still streaming are saved as stopped."""
        record = self.records.get(key)
        for saved in list(record.saved.values()) if record is not None else []:
            if saved.role is Role.ASSISTANT and saved.status is Status.STREAMING:
                text = texts.get(saved.window_id)
                store.finish_assistant_message(saved.store_id, MessageStatus.STOPPED, text=text)
                saved.status = Status.STOPPED


def _update_answer(store: ConversationStore, saved: Saved, shot: Shot) -> bool:
    """Bring a saved answer up to date; True if its status changed."""
    if shot.status is Status.STREAMING:
        if len(shot.text) > saved.length:
            store.append_streaming_text(saved.store_id, shot.text[saved.length :])
            saved.length = len(shot.text)
        return False
    status = STORED_STATUS[shot.status]
    unchanged = (
        saved.status is shot.status
        and saved.length == len(shot.text)
        and saved.stats == shot.stats
        and saved.tool_turns == len(shot.tool_turns)
    )
    if unchanged or status not in FINISHED_STATUSES:
        return False
    store.finish_assistant_message(
        saved.store_id, status, text=shot.text, stats=shot.stats, tool_turns=shot.tool_turns
    )
    saved.status, saved.length, saved.stats = shot.status, len(shot.text), shot.stats
    saved.tool_turns = len(shot.tool_turns)
    return True
