"""SIGKILL the app process 50 times while it streams answers into the store.

The app here is `streaming_app.py`: the real worker process and the real
`ConversationStore`, saving as the window does. All 50 runs share one data folder, so
every run must also keep what the runs before it saved. After each kill:
`PRAGMA integrity_check` says ok, the search index agrees with the messages, every
save the app reported is there (user messages and images exactly, streamed answers at
least as far as reported, finished answers complete), and the orphaned worker exits.

Starting a worker costs seconds (torch and transformers import), so the next app is
started while the current one streams: it loads its model, then waits for its turn
before it opens the store.
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

SEED = 20261124
KILLS = 50
AHEAD = 2  # apps loading their model while the current one streams
CHILD = Path(__file__).with_name("streaming_app.py")
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Run:
    """One app process and what it reported, read on a thread as it arrives."""

    process: subprocess.Popen[str]
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
            assert self.process.poll() is None, f"the app exited with {self.process.returncode}"
            time.sleep(0.01)
        raise AssertionError(f"no {kind!r} from the app within {timeout} s")


def start(folder: Path, model: Path, image: Path) -> Run:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    process = subprocess.Popen(
        [sys.executable, str(CHILD), str(folder), str(model), str(image)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
        cwd=ROOT,
    )
    run = Run(process)
    run.reader = threading.Thread(target=run.read, daemon=True)
    run.reader.start()
    return run


@dataclass
class Expected:
    """What the apps reported saved, message by message."""

    user: dict[int, tuple[str, int]] = field(default_factory=dict)  # text, images
    answers: dict[int, str] = field(default_factory=dict)  # text reported saved
    finished: set[int] = field(default_factory=set)

    def take(self, events: list[dict[str, object]]) -> None:
        for event in events:
            kind, mid = event["e"], event.get("mid")
            if kind == "user":
                self.user[int(mid)] = (str(event["text"]), int(event["images"]))  # type: ignore[call-overload]
            elif kind == "begin":
                self.answers[int(mid)] = ""  # type: ignore[call-overload]
            elif kind == "saved":
                self.answers[int(mid)] += str(event["chunk"])  # type: ignore[call-overload]
            elif kind == "finished":
                self.finished.add(int(mid))  # type: ignore[call-overload]


def check_store(folder: Path, expected: Expected) -> int:
    """Assert the database is whole and holds every reported save; returns messages lost."""
    db = sqlite3.connect(folder / "conversations.sqlite3")
    try:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        db.execute("INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)")
    finally:
        db.close()
    lost = 0
    with ConversationStore.open(folder) as store:  # marks the cut-off answer as interrupted
        saved = {
            m.id: m
            for c in store.list_conversations()
            for m in store.load_conversation(c.id).messages
        }
        for mid, (text, images) in expected.user.items():
            stored = saved[mid]
            ok = stored.text == text and len(stored.attachments) == images
            ok = ok and all(a.path.is_file() for a in stored.attachments)
            lost += not ok
        for mid, text in expected.answers.items():
            message = saved[mid]
            if mid in expected.finished:
                lost += not (message.status is MessageStatus.COMPLETE and message.text == text)
            else:
                # One more piece may have landed after the last report; nothing may be missing.
                lost += not (
                    message.text.startswith(text)
                    and message.status in (MessageStatus.INTERRUPTED, MessageStatus.COMPLETE)
                )
    return lost


# 50 worker starts of ~3.3 s each; a loaded shared machine needs more than the default 300 s.
@pytest.mark.timeout(1200)
def test_fifty_app_kills_lose_nothing_saved(tmp_path: Path, demo_bf16: Path) -> None:
    rng = random.Random(SEED)
    folder = tmp_path / "data"
    image = tmp_path / "photo.png"
    Image.new("RGB", (320, 200), (200, 120, 40)).save(image)
    expected = Expected()
    queue = [start(folder, demo_bf16, image) for _ in range(min(AHEAD, KILLS))]
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
                queue.append(start(folder, demo_bf16, image))
                started += 1
            run.wait_for("saved", timeout=60)  # an answer is streaming and being saved
            delay = rng.uniform(0.0, 1.0)
            time.sleep(delay)
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
            events = run.events
            last = events[-1]["e"] if events else "none"
            expected.take(events)
            lost = check_store(folder, expected)
            lost_total += lost
            injected.append(
                {"n": number, "after_s": round(delay, 3), "last_report": last, "lost": lost}
            )
            assert lost == 0, injected[-1]
    finally:
        for run in queue:
            run.process.kill()
            run.process.wait()
        for pid in workers:
            if psutil.pid_exists(pid):
                psutil.Process(pid).kill()

    finished = len(expected.finished)
    record(
        "app_sigkill",
        seed=SEED,
        kills=KILLS,
        user_messages=len(expected.user),
        answers=len(expected.answers),
        answers_finished=finished,
        answers_cut_off=len(expected.answers) - finished,
        messages_lost=lost_total,
        injected=injected,
    )
    assert lost_total == 0
