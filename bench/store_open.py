"""Benchmark: open a 1,000-message conversation (the issue's budget: 200 ms to first paint).

Run: .venv/bin/python bench/store_open.py
Measures the storage part of first paint: opening the store (as the app does at start)
and loading every message of the conversation with its image paths.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from store_common import database_size, fill, measure  # noqa: E402

from app.storage import ConversationStore  # noqa: E402
from bench.common import Result, emit, spread  # noqa: E402


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="maverick-bench-") as tmp:
        folder = Path(tmp)
        with ConversationStore.open(folder) as store:
            fill(store, conversations=40, messages_each=50, seed=2)  # other conversations
            cid = fill(store, conversations=1, messages_each=1000, seed=3)
            conversation = store.load_conversation(cid)
            chars = sum(len(m.text) for m in conversation.messages)
        print(
            f"database: {database_size(folder)}, conversation {cid}: "
            f"{len(conversation.messages)} messages, {chars:,} characters"
        )

        def open_and_load() -> None:
            with ConversationStore.open(folder) as store:
                store.load_conversation(cid)

        with ConversationStore.open(folder) as store:
            loaded = measure(
                "load_conversation (store already open)", lambda: store.load_conversation(cid), 50
            )
            measure("list_conversations (sidebar)", store.list_conversations, 50)
        opened = measure("ConversationStore.open + load_conversation", open_and_load, 20)
    emit(
        [
            Result(
                "open a 1,000-message conversation (open store + load)",
                statistics.median(opened),
                "ms",
                "<= 200",
                detail=f"{spread(opened, 1)}; load alone {spread(loaded, 1)}",
            ).judged()
        ]
    )


if __name__ == "__main__":
    main()
