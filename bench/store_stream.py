"""Benchmark: the cost of saving a streaming answer (the window saves at most once a second).

Run: .venv/bin/python bench/store_stream.py
Each save is one UPDATE in its own transaction with synchronous=FULL (fsync'd).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from store_common import fill, measure  # noqa: E402

from app.storage import ConversationStore, MessageStatus  # noqa: E402


def main() -> None:
    with (
        tempfile.TemporaryDirectory(prefix="maverick-bench-") as tmp,
        ConversationStore.open(Path(tmp)) as store,
    ):
        fill(store, conversations=100, messages_each=50, seed=5)
        cid = store.create_conversation()
        mid = store.begin_assistant_message(cid)
        chunk = "Streaming tokens arrive and are saved about once a second. " * 3
        measure(
            "append_streaming_text (~180 chars each)",
            lambda: store.append_streaming_text(mid, chunk),
            100,
        )
        text = store.get_message(mid).text
        measure(
            f"save_streaming_text (whole answer, {len(text):,} chars)",
            lambda: store.save_streaming_text(mid, text),
            100,
        )
        store.finish_assistant_message(mid, MessageStatus.COMPLETE, stats={"tokens": 1})


if __name__ == "__main__":
    main()
