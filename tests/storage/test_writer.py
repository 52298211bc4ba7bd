"""StoreWriter: writes on their own thread, in order, none lost on close, errors reported."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from app.storage import ConversationStore, MessageStatus, NewerVersionError, StorageError
from app.storage.writer import StoreWriter


class Errors:
    def __init__(self) -> None:
        self.seen: list[tuple[str, BaseException, str]] = []

    def __call__(self, sentence: str, exc: BaseException) -> None:
        self.seen.append((sentence, exc, threading.current_thread().name))


def test_writes_run_in_order_on_one_thread_and_none_is_lost_on_close(data_dir: Path) -> None:
    errors = Errors()
    writer = StoreWriter(data_dir, errors)
    ids: list[int] = []
    threads: set[str] = set()

    def remember(value: int) -> None:
        ids.append(value)
        threads.add(threading.current_thread().name)

    writer.submit("create", lambda s: s.create_conversation("Streamed"), remember)
    writer.wait()
    (cid,) = ids
    writer.submit("ask", lambda s: s.add_user_message(cid, "count to 500").id)
    writer.submit("begin", lambda s: s.begin_assistant_message(cid), remember)
    writer.wait()
    answer = ids[1]
    for n in range(500):
        writer.submit("append", lambda s, n=n: s.append_streaming_text(answer, f"{n} "))
    writer.submit("finish", lambda s: s.finish_assistant_message(answer, MessageStatus.COMPLETE))
    writer.close()  # straight away: every queued write must still land
    assert not writer.running
    assert threads == {"store-writer"}
    assert errors.seen == []
    with ConversationStore.open(data_dir) as store:
        saved = store.get_message(answer)
        assert saved.text == "".join(f"{n} " for n in range(500))
        assert saved.status is MessageStatus.COMPLETE


def test_a_failed_write_is_reported_and_the_next_ones_still_run(data_dir: Path) -> None:
    errors = Errors()
    writer = StoreWriter(data_dir, errors)
    writer.submit(
        "save the answer", lambda s: s.finish_assistant_message(999, MessageStatus.STOPPED)
    )
    writer.submit("break", lambda s: 1 / 0)
    writer.submit("create", lambda s: s.create_conversation("still saved"))
    writer.close()
    (sentence, exc, thread), (bug, zero, _) = errors.seen
    assert (sentence, thread) == ("There is no message 999.", "store-writer")
    assert isinstance(exc, StorageError)
    assert bug == "Could not break: ZeroDivisionError('division by zero'). See the log for details."
    assert isinstance(zero, ZeroDivisionError)
    with ConversationStore.open(data_dir) as store:
        assert [c.title for c in store.list_conversations()] == ["still saved"]


def test_submitting_after_close_is_refused_with_a_sentence(data_dir: Path) -> None:
    writer = StoreWriter(data_dir, Errors())
    writer.close()
    writer.close()  # twice is harmless
    with pytest.raises(StorageError) as caught:
        writer.submit("save your message", lambda s: None)
    assert str(caught.value) == "Could not save your message: the store was already closed."


def test_a_store_that_cannot_open_is_raised_by_the_constructor(data_dir: Path) -> None:
    ConversationStore.open(data_dir).close()
    db = sqlite3.connect(data_dir / "conversations.sqlite3")
    db.execute("PRAGMA user_version = 99")
    db.close()
    before = threading.active_count()
    with pytest.raises(NewerVersionError):
        StoreWriter(data_dir, Errors())
    assert threading.active_count() == before  # the writer thread ended
