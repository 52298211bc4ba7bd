"""Benchmark: full-text search over 10,000 messages (the issue's budget: 50 ms).

Run: .venv/bin/python bench/store_search.py
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

QUERIES = [
    ("common word", "the"),
    ("two words", "expert layer"),
    ("rare word", "quantisation"),
    ("typing a prefix", "maver"),
    ("long-tail token", "w12345"),
    ("no hits", "zeppelin"),
]


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="maverick-bench-") as tmp:
        folder = Path(tmp)
        with ConversationStore.open(folder) as store:
            fill(store, conversations=200, messages_each=50, seed=4)  # 10,000 messages
            with store.reading("count") as conn:
                count = conn.execute("SELECT count(*) FROM messages").fetchone()[0]
            print(f"database: {database_size(folder)}, {count:,} messages")
            results = []
            for label, query in QUERIES:
                hits = store.search(query)
                times = measure(
                    f"search {label} {query!r} ({len(hits)} hits, limit 50)",
                    lambda q=query: store.search(q),
                    30,
                )
                results.append(
                    Result(
                        f"full-text search over {count:,} messages: {label} {query!r}",
                        statistics.median(times),
                        "ms",
                        "<= 50",
                        detail=f"{spread(times, 1)}; {len(hits)} hits",
                    ).judged()
                )
    emit(results)


if __name__ == "__main__":
    main()
