"""SIGKILL a process that regenerates, edits and switches versions: no version is lost.

The writer reports each write on stdout only after it returned; after every kill the
test reopens the store and checks that every reported version is there with at least
the reported text, that the tree and its shown path are sound, and that SQLite agrees.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from app.storage import ConversationStore, MessageStatus, Role

WRITER = r"""
import random, sys
from pathlib import Path
from app.storage import ConversationStore, MessageStatus, Role
store = ConversationStore.open(Path(sys.argv[1]))
rng = random.Random(int(sys.argv[2]))
cid = store.create_conversation()

def stream(mid):
    text = ""
    for n in range(3):
        chunk = f"{mid}-{n} " + "lorem " * 30
        store.append_streaming_text(mid, chunk)
        text += chunk
        print(f"text {mid} {len(text)}", flush=True)
    store.finish_assistant_message(mid, MessageStatus.COMPLETE)

def made(mid):
    print(f"made {mid}", flush=True)
    return mid

q = made(store.add_user_message(cid, "first question").id)
stream(made(store.begin_assistant_message(cid)))
while True:
    tree = store.load_tree(cid).messages
    choice = rng.random()
    if choice < 0.3:
        answer = rng.choice([m for m in tree if m.role is Role.ASSISTANT])
        stream(made(store.add_answer_version(answer.id)))
    elif choice < 0.55:
        question = rng.choice([m for m in tree if m.role is Role.USER])
        made(store.add_question_version(question.id, f"edited {rng.random()}").id)
        stream(made(store.begin_assistant_message(cid)))
    elif choice < 0.8:
        store.show_version(rng.choice(tree).id)
        print("switched", flush=True)
    else:
        made(store.add_user_message(cid, f"next {rng.random()}").id)
        stream(made(store.begin_assistant_message(cid)))
"""


def test_sigkill_while_making_versions_loses_no_version(tmp_path: Path) -> None:
    rng = random.Random(20261201)
    other_versions = []
    for attempt in range(6):
        folder = tmp_path / f"run{attempt}"
        writes_before_kill = rng.randint(5, 60)
        process = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(folder), str(attempt)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parents[2],
        )
        made: set[int] = set()
        lengths: dict[int, int] = {}
        try:
            assert process.stdout is not None
            for _ in range(writes_before_kill):
                line = process.stdout.readline()
                assert line, process.stderr.read() if process.stderr else ""
                word, *rest = line.split()
                if word == "made":
                    made.add(int(rest[0]))
                elif word == "text":
                    lengths[int(rest[0])] = int(rest[1])
            time.sleep(rng.uniform(0.0, 0.05))
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
            (summary,) = store.list_conversations()
            tree = store.load_tree(summary.id)
            by_id = {m.id: m for m in tree.messages}
            assert made <= set(by_id), attempt
            for mid, length in lengths.items():
                assert len(by_id[mid].text) >= length
            assert store.check_tree(summary.id) == []
            other_versions.append(tree.conversation.other_versions)
            path = tree.conversation.messages
            assert path and path[0].parent_id is None
            assert all(b.parent_id == a.id for a, b in zip(path, path[1:], strict=False))
            assert all(m.status is not MessageStatus.STREAMING for m in tree.messages)
            assert {m.role for m in tree.messages} <= {Role.USER, Role.ASSISTANT}
        db = sqlite3.connect(folder / "conversations.sqlite3")
        try:
            assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert db.execute("PRAGMA foreign_key_check").fetchall() == []
            db.execute("INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)")
        finally:
            db.close()
    assert max(other_versions) >= 3, other_versions  # the runs really made versions
