"""SIGKILL the process that streams an answer into the store; nothing saved may be lost."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from app.storage import ConversationStore, MessageStatus

# Saves "chunk-0000 ", "chunk-0001 ", … every ~0.2 s, the way the window saves a
# streaming answer, and reports each save on stdout only after it returned.
WRITER = r"""
import sys, time
from pathlib import Path
from app.storage import ConversationStore
store = ConversationStore.open(Path(sys.argv[1]))
cid = store.create_conversation()
store.add_user_message(cid, "tell me a long story")
mid = store.begin_assistant_message(cid)
print(f"message {mid}", flush=True)
i = 0
while True:
    store.append_streaming_text(mid, f"chunk-{i:04d} " + "lorem ipsum " * 40)
    print(f"saved {i}", flush=True)
    i += 1
    time.sleep(0.2)
"""


def _chunks_through(last: int) -> str:
    return "".join(f"chunk-{i:04d} " + "lorem ipsum " * 40 for i in range(last + 1))


def test_sigkill_mid_stream_loses_nothing_that_was_saved(tmp_path: Path) -> None:
    rng = random.Random(20250601)
    for attempt in range(4):
        folder = tmp_path / f"run{attempt}"
        saves_before_kill = rng.randint(1, 6)
        extra_delay = rng.uniform(0.0, 0.2)  # lands anywhere in the next save or sleep
        process = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(folder)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parents[2],
        )
        try:
            assert process.stdout is not None
            mid = int(process.stdout.readline().split()[1])
            last_reported = -1
            while last_reported < saves_before_kill:
                line = process.stdout.readline()
                assert line.startswith("saved "), (
                    line,
                    process.stderr.read() if process.stderr else "",
                )
                last_reported = int(line.split()[1])
            time.sleep(extra_delay)
            os.kill(process.pid, signal.SIGKILL)
            assert process.wait(timeout=10) == -signal.SIGKILL
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            for stream in (process.stdout, process.stderr):
                if stream is not None:
                    stream.close()

        with ConversationStore.open(folder) as store:
            message = store.get_message(mid)
            assert message.status is MessageStatus.INTERRUPTED
            # Every save that returned is there; one more may have landed after the report.
            assert message.text in (
                _chunks_through(last_reported),
                _chunks_through(last_reported + 1),
            ), attempt
            assert any("interrupted" in n for n in store.notices)
        db = sqlite3.connect(folder / "conversations.sqlite3")
        try:
            assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            fts = db.execute(
                "INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)"
            )
            assert fts is not None  # raises if the search index disagrees with the messages
        finally:
            db.close()
