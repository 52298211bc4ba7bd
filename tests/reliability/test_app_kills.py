"""SIGKILL the app process 50 times while its window streams answers and saves them.

The app is `window_app.py`: the real `MainWindow`, `WorkerBridge`, worker process,
`ConversationStore` and `ConversationSaver`, asking new questions and, drawn at random,
regenerating the last answer or editing a question shown (each a new version in the
message tree). All 50 runs share one data folder, so every run must also keep what the
runs before it saved.

What counts as saved is read from the database itself: right before each kill the test
takes a read-only snapshot of every message. After the kill: `PRAGMA integrity_check`
says ok, the search index agrees with the messages, every message of every snapshot so
far is still there (questions and their images exactly, finished answers unchanged,
streaming answers at least as long as they were, old versions included), every question
the window reported sent is saved with its images, every answer the window reported
finished is saved complete, every version it reported made is saved next to the one it
replaced (same parent, the old one unchanged), every conversation's shown path is a
path through its tree, and the orphaned worker exits.

Starting an app costs seconds (the worker imports torch and transformers), so the next
app is started while the current one streams: it loads its model, then waits for its
turn before it opens the store.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest
from PIL import Image

from app.storage import ConversationStore, MessageStatus

from .conftest import record

SEED = 20261201
KILLS = 50
AHEAD = 2  # apps loading their model while the current one streams
KILL_WITHIN_S = 2.0  # the kill comes this long at most after an answer starts streaming
CHILD = Path(__file__).with_name("window_app.py")
ROOT = Path(__file__).resolve().parents[2]
DB_NAME = "conversations.sqlite3"


@dataclass
class Run:
    """One app process and what it reported, read on a thread as it arrives."""

    process: subprocess.Popen[str]
    log: Path  # the app's stderr
    events: list[dict[str, object]] = field(default_factory=list)
    reader: threading.Thread | None = None

    def read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith("{"):
                self.events.append(json.loads(line))

    def wait_for(self, kind: str, timeout: float = 120) -> dict[str, object]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in list(self.events):
                if event["e"] == kind:
                    return event
            if self.process.poll() is not None:
                tail = self.log.read_text(errors="replace")[-2000:]
                raise AssertionError(f"the app exited with {self.process.returncode}: {tail}")
            time.sleep(0.01)
        raise AssertionError(f"no {kind!r} from the app within {timeout} s")


def start(folder: Path, model: Path, image: Path, seed: int) -> Run:
    env = dict(os.environ, PYTHONPATH=str(ROOT), MAVERICK_DESK_DATA_DIR=str(folder))
    env["QT_QPA_PLATFORM"] = "offscreen"
    log = folder.with_name(f"app-{seed}.log")
    with log.open("wb") as stderr:  # the app keeps its own copy of the file
        process = subprocess.Popen(
            [sys.executable, str(CHILD), str(model), str(image), str(seed)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env=env,
            cwd=ROOT,
        )
    run = Run(process, log)
    run.reader = threading.Thread(target=run.read, daemon=True)
    run.reader.start()
    return run


@dataclass(frozen=True)
class Saved:
    """One message as a snapshot of the database found it."""

    # Where it is and when it was made: SQLite gives a deleted message's id to the next
    # one inserted, and a new message in its place must not pass for it.
    parent: int | None
    created: str
    role: str
    text: str
    status: str
    images: int

    def is_same_message(self, other: Saved | None) -> bool:
        return other is not None and (self.parent, self.created, self.role) == (
            other.parent,
            other.created,
            other.role,
        )


def snapshot(folder: Path) -> dict[int, Saved]:
    """Every message committed to the database right now (read-only, lock held briefly)."""
    path = folder / DB_NAME
    if not path.exists():
        return {}
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        rows = db.execute(
            "SELECT m.id, m.parent, m.created, m.role, m.text, m.status, COUNT(a.id) "
            "FROM messages m "
            "LEFT JOIN attachments a ON a.message = m.id GROUP BY m.id"
        ).fetchall()
    finally:
        db.close()
    return {row[0]: Saved(*row[1:]) for row in rows}


@dataclass(frozen=True)
class Version:
    """A new version the window reported saved: Regenerate or Edit (stored ids)."""

    kind: str  # "regenerated" or "edited"
    old: int
    old_text: str
    new: int


@dataclass
class Expected:
    """Everything seen saved so far, and what the windows reported."""

    saved: dict[int, Saved] = field(default_factory=dict)
    asked: list[tuple[str, int]] = field(default_factory=list)  # question, images
    answered: list[str] = field(default_factory=list)  # texts of finished answers
    versions: list[Version] = field(default_factory=list)

    def take(self, seen: dict[int, Saved], events: list[dict[str, object]]) -> None:
        for mid, shot in seen.items():
            # A later snapshot of a message supersedes an earlier one; another message
            # under a reused id does not (the one seen before is gone, and counted lost).
            if mid not in self.saved or self.saved[mid].is_same_message(shot):
                self.saved[mid] = shot
        for event in events:
            if event["e"] in ("asked", "edited"):
                self.asked.append((str(event["text"]), int(event["images"])))  # type: ignore[call-overload]
            if event["e"] in ("regenerated", "edited"):
                self.versions.append(
                    Version(
                        str(event["e"]),
                        int(event["old"]),  # type: ignore[call-overload]
                        str(event["old_text"]),
                        int(event["new"]),  # type: ignore[call-overload]
                    )
                )
            elif event["e"] == "answered" and event["status"] == "complete":
                self.answered.append(str(event["text"]))

    def count(self, kind: str) -> int:
        return sum(v.kind == kind for v in self.versions)


def kept(before: Saved, after: Saved | None) -> bool:
    """Whether a message seen saved is still there, whole."""
    if after is None or not before.is_same_message(after):
        return False
    if before.status == MessageStatus.STREAMING:
        # Cut off by the kill (interrupted on reopen) or finished after the snapshot.
        return after.text.startswith(before.text) and after.status in (
            MessageStatus.INTERRUPTED,
            MessageStatus.COMPLETE,
            MessageStatus.STOPPED,
        )
    return after == before


Row = tuple[int, int | None, int, str, str, int | None]  # conversation, parent, depth, ...


def tree_rows(db: sqlite3.Connection) -> dict[int, Row]:
    """id -> (conversation, parent, position, role, text, shown_child) of every message."""
    rows = db.execute(
        "SELECT id, conversation, parent, position, role, text, shown_child FROM messages"
    ).fetchall()
    return {row[0]: tuple(row[1:]) for row in rows}  # type: ignore[misc]


def shown_path_problems(db: sqlite3.Connection, rows: dict[int, Row]) -> list[str]:
    """What is wrong with the shown choices and shown paths of every conversation."""
    problems = []
    for mid, (conversation, _, depth, _, _, shown) in rows.items():
        child = rows.get(shown) if shown is not None else None
        if shown is not None and (
            child is None or child[1] != mid or child[0] != conversation or child[2] <= depth
        ):
            problems.append(f"message {mid} shows {shown}, which is not one of its answers")
    for cid, root in db.execute("SELECT id, shown_root FROM conversations").fetchall():
        if not any(row[0] == cid for row in rows.values()):
            continue  # an empty conversation shows nothing
        step = rows.get(root) if root is not None else None
        if step is None or step[0] != cid or step[1] is not None:
            problems.append(f"conversation {cid} shows {root}, not one of its first questions")
            continue
        mid, seen = root, {root}
        while step[5] is not None:
            child = rows.get(step[5])
            if child is None or child[1] != mid or child[0] != cid or child[2] <= step[2]:
                problems.append(f"conversation {cid}: the shown path breaks after {mid}")
                break
            mid, step = step[5], child
            if mid in seen:
                problems.append(f"conversation {cid}: the shown path loops at {mid}")
                break
            seen.add(mid)
    return problems


def version_problems(rows: dict[int, Row], versions: list[Version]) -> list[str]:
    """Each version the window reported is saved beside the one it replaced, which is kept."""
    problems = []
    role = {"regenerated": "assistant", "edited": "user"}
    for v in versions:
        old, new = rows.get(v.old), rows.get(v.new)
        if old is None:
            problems.append(f"{v.kind}: the old version {v.old} is gone")
        elif old[4] != v.old_text or old[3] != role[v.kind]:
            problems.append(f"{v.kind}: the old version {v.old} changed to {old!r}")
        elif new is None or v.new == v.old or new[:3] != old[:3] or new[3] != old[3]:
            problems.append(f"{v.kind}: the new version {v.new} is not a sibling of {v.old}")
    return problems


def check_store(folder: Path, expected: Expected) -> int:
    """Assert the database is whole; returns how many saved messages were lost."""
    db = sqlite3.connect(folder / DB_NAME)
    try:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        db.execute("INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)")
        rows = tree_rows(db)
        problems = shown_path_problems(db, rows)
    finally:
        db.close()
    assert problems == []
    with ConversationStore.open(folder) as store:  # marks the cut-off answer as interrupted
        conversations = store.list_conversations()
        assert all(store.check_tree(c.id) == [] for c in conversations)
        attachments_ok = all(
            a.path.is_file()
            for c in conversations
            for m in store.load_conversation(c.id).messages
            for a in m.attachments
        )
    assert attachments_ok, "a saved image is missing from the image store"
    now = snapshot(folder)
    lost = sum(not kept(before, now.get(mid)) for mid, before in expected.saved.items())
    questions = {(s.text, s.images) for s in now.values() if s.role == "user"}
    lost += sum(question not in questions for question in expected.asked)
    answers = {s.text for s in now.values() if s.role == "assistant" and s.status == "complete"}
    lost += sum(text not in answers for text in expected.answered)
    # Reopening changed only statuses, so `rows` still holds every text and link.
    missing = version_problems(rows, expected.versions)
    assert missing == [], missing
    return lost


# 50 app starts of ~4 s each; a loaded shared machine needs more than the default 300 s.
@pytest.mark.timeout(1500)
def test_fifty_window_kills_lose_nothing_saved(tmp_path: Path, demo_bf16: Path) -> None:
    rng = random.Random(SEED)
    folder = tmp_path / "data"
    image = tmp_path / "photo.png"
    Image.new("RGB", (320, 200), (200, 120, 40)).save(image)
    expected = Expected()
    # Each app draws its steps from a seed of its own: every run differs, reproducibly.
    queue = [start(folder, demo_bf16, image, SEED + n) for n in range(min(AHEAD, KILLS))]
    started = len(queue)
    injected = []
    lost_total = 0
    workers: list[int] = []
    try:
        for number in range(KILLS):
            run = queue.pop(0)
            workers.append(int(run.wait_for("ready")["worker"]))  # type: ignore[call-overload]
            assert run.process.stdin is not None
            run.process.stdin.write("go\n")
            run.process.stdin.flush()
            if started < KILLS:
                queue.append(start(folder, demo_bf16, image, SEED + started))
                started += 1
            run.wait_for("streaming", timeout=60)  # an answer streams into the window
            delay = rng.uniform(0.0, KILL_WITHIN_S)
            time.sleep(delay)
            seen = snapshot(folder)
            os.kill(run.process.pid, signal.SIGKILL)
            assert run.process.wait(timeout=10) == -signal.SIGKILL
            assert run.reader is not None
            run.reader.join(timeout=10)
            # The worker, now an orphan, sees its pipe close and exits.
            gone, alive = psutil.wait_procs(
                [psutil.Process(workers[-1])] if psutil.pid_exists(workers[-1]) else [],
                timeout=15,
            )
            assert not alive, "the worker outlived its app"
            streaming = [s for s in seen.values() if s.status == MessageStatus.STREAMING]
            expected.take(seen, run.events)
            lost = check_store(folder, expected)
            lost_total += lost
            injected.append(
                {
                    "n": number,
                    "after_s": round(delay, 3),
                    "steps": [e["e"] for e in run.events if "old" in e or e["e"] == "asked"],
                    "answers_finished_in_run": sum(e["e"] == "answered" for e in run.events),
                    "streaming_chars_saved": len(streaming[0].text) if streaming else None,
                    "lost": lost,
                }
            )
            assert lost == 0, injected[-1]
    finally:
        for run in queue:
            run.process.kill()
            run.process.wait()
        for pid in workers:
            if psutil.pid_exists(pid):
                psutil.Process(pid).kill()

    final = snapshot(folder)
    db = sqlite3.connect(folder / DB_NAME)
    try:  # messages minus forks: the versions Regenerate and Edit added
        versions = db.execute(
            "SELECT count(*) - count(DISTINCT conversation || ':' || coalesce(parent, 0)) "
            "FROM messages"
        ).fetchone()[0]
    finally:
        db.close()
    mid_stream = sum(bool(k["streaming_chars_saved"]) for k in injected)
    record(
        "app_sigkill",
        seed=SEED,
        kills=KILLS,
        questions=len(expected.asked),
        answers_finished=len(expected.answered),
        regenerates=expected.count("regenerated"),
        edits=expected.count("edited"),
        versions_in_database=versions,
        kills_with_an_answer_saved_mid_stream=mid_stream,
        messages_in_database=len(final),
        messages_lost=lost_total,
        injected=injected,
    )
    assert lost_total == 0
    # The kills did land while answers were being saved, not only between them.
    assert mid_stream >= KILLS // 2
    # Regenerate and Edit were exercised, not only drawn.
    assert expected.count("regenerated") >= 5 and expected.count("edited") >= 5
