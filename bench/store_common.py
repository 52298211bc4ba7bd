"""Shared by the store benchmarks: a reproducible pile of realistic-looking messages."""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from app.storage import ConversationStore
from app.storage.database import now

_WORD_TEXT = (
    "the model image picture expert layer token answer question maverick llama vision "
    "attention weight tensor memory batch gradient horse circle colour table chart invoice "
    "receipt total amount page document paragraph summary code python function error value "
    "because however therefore which would could should about between during without within "
    "quantisation precision bfloat fp8 throughput latency context window prompt system user"
)
WORDS = _WORD_TEXT.split()


def sentence(rng: random.Random, length: int) -> str:
    # A Zipf-like choice, so that common words are common and rare ones rare.
    words = [WORDS[min(int(rng.paretovariate(1.2)) - 1, len(WORDS) - 1)] for _ in range(length)]
    words += [f"w{rng.randrange(20_000)}" for _ in range(length // 8)]  # a long tail
    rng.shuffle(words)
    return " ".join(words).capitalize() + "."


def fill(store: ConversationStore, conversations: int, messages_each: int, seed: int = 1) -> int:
    """Bulk-insert conversations (one transaction); returns the id of the first one."""
    rng = random.Random(seed)
    stamp = now()
    first = 0
    with store.writing("fill the benchmark database") as conn:
        for _ in range(conversations):
            cid = conn.execute(
                "INSERT INTO conversations (title, created, updated) VALUES (?,?,?)",
                (sentence(rng, 6)[:60], stamp, stamp),
            ).lastrowid
            first = first or int(cid or 0)
            parent = None
            for position in range(messages_each):
                role = "user" if position % 2 == 0 else "assistant"
                size = rng.randint(8, 40) if role == "user" else rng.randint(80, 400)
                text = "\n\n".join(sentence(rng, size // 4) for _ in range(4))
                mid = conn.execute(
                    "INSERT INTO messages (conversation, parent, position, role, text, status, "
                    "created, updated) VALUES (?,?,?,?,?,?,?,?)",
                    (cid, parent, position, role, text, "complete", stamp, stamp),
                ).lastrowid
                # One path, shown: as if each message had been added in the window.
                if parent is None:
                    conn.execute("UPDATE conversations SET shown_root = ? WHERE id = ?", (mid, cid))
                else:
                    conn.execute("UPDATE messages SET shown_child = ? WHERE id = ?", (mid, parent))
                parent = mid
    return first


def measure(label: str, fn: Callable[[], object], repeats: int) -> list[float]:
    """Run `fn` `repeats` times and print median / p95 / max in milliseconds."""
    fn()  # warm-up: first run pays for imports and the OS page cache
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    p95 = times[max(0, int(len(times) * 0.95) - 1)]
    print(
        f"{label:<58} median {statistics.median(times):7.2f} ms   p95 {p95:7.2f} ms   "
        f"max {times[-1]:7.2f} ms   (n={repeats})"
    )
    return times


def database_size(folder: Path) -> str:
    total = sum(p.stat().st_size for p in folder.glob("conversations.sqlite3*"))
    return f"{total / 1024 / 1024:.1f} MiB"
