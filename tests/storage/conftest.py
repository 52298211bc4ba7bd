"""A store in the test's data directory, and a conversation with a bit of everything."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.storage import ConversationStore, MessageStatus


@pytest.fixture
def store(data_dir: Path) -> Iterator[ConversationStore]:
    opened = ConversationStore.open(data_dir)
    yield opened
    opened.close()


@pytest.fixture
def rich(store: ConversationStore, images: dict[str, Path]) -> int:
    """A saved conversation: two images (one sent twice), all end states, odd text, stats."""
    cid = store.create_conversation(settings={"temperature": 0.7, "system": "Be brief."})
    store.add_user_message(
        cid, "What is in these two pictures? 🐎", [images["wide"], images["tall"]]
    )
    answer = store.begin_assistant_message(cid)
    store.append_streaming_text(answer, "A yellow circle on blue, ")
    store.append_streaming_text(answer, "and a red bar on green.")
    store.finish_assistant_message(
        answer, MessageStatus.COMPLETE, stats={"tokens": 12, "seconds": 0.8125, "tok_s": 14.77}
    )
    store.add_user_message(
        cid, 'Escape this: <script>alert("x")</script> & "quotes"\nتست', [images["wide"]]
    )
    stopped = store.begin_assistant_message(cid)
    store.save_streaming_text(stopped, "I was stopped half-")
    store.finish_assistant_message(stopped, MessageStatus.STOPPED, stats={"tokens": 4})
    store.add_user_message(cid, "Tabs\tand NUL \x00 and ``` fences")
    failed = store.begin_assistant_message(cid)
    store.finish_assistant_message(failed, MessageStatus.ERROR, text="", stats={"error": "boom"})
    return cid
