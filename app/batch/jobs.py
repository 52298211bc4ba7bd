"""Batch jobs in SQLite: the job, its settings, and every item's result as it finishes.

One database, ``batch/jobs.sqlite`` in the data folder, in WAL mode with synchronous=FULL:
a result is committed in the same transaction that marks its item done, so a killed app
or worker loses at most the answers in flight, and an item whose result was saved is
never run again. An item left "running" by a killed process is pending again when the
job resumes. Input images (and PDF pages, drawn once) are copied into the job's image
store when the job is made, and a PDF asked as a whole document is copied by its content
hash, so a moved or deleted folder does not break a job.

The database carries a format version (``PRAGMA user_version``); a newer one is refused.
Format 2 added ``items.document``; a format 1 file gains the column when it is opened.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.paths import data_dir

JOBS_FORMAT = 2  # never reuse; a newer file is refused, never altered
# 1: the first; 2: items.document (a whole PDF asked as one item)
# Item statuses as stored: never change or reuse a value.
PENDING, RUNNING, DONE, FAILED = "pending", "running", "done", "failed"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY,
    created REAL NOT NULL,
    name TEXT NOT NULL,
    prompt TEXT NOT NULL,
    schema TEXT,              -- JSON Schema (bounded), or NULL for free text
    settings TEXT NOT NULL,   -- JSON: engine, sampling, concurrency
    state TEXT NOT NULL       -- open, paused, cancelled, finished
);
CREATE TABLE IF NOT EXISTS items (
    job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    label TEXT NOT NULL,       -- file name, and page for a PDF page
    source TEXT NOT NULL,      -- where it came from (shown, never read again)
    image TEXT NOT NULL,       -- the stored copy the model reads (a document's first page)
    document TEXT,             -- a whole PDF's stored copy, or NULL for an image or a page
    status TEXT NOT NULL,
    result_text TEXT,
    result_json TEXT,
    constrained INTEGER,
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    seconds REAL,
    finished REAL,
    PRIMARY KEY (job_id, idx)
);
"""


class JobError(ValueError):
    """A job or a database that cannot be used, with a sentence for the person."""


@dataclass(frozen=True)
class Job:
    """A job's row."""

    id: int
    name: str
    prompt: str
    schema: dict[str, Any] | None
    settings: dict[str, Any]
    state: str
    created: float


@dataclass(frozen=True)
class Item:
    """One input of a job and, once done, its result."""

    job_id: int
    idx: int
    label: str
    source: str
    image: str
    document: str | None  # the stored copy of a PDF asked whole, None for an image or a page
    status: str
    result_text: str | None
    result_json: Any
    constrained: bool | None
    error: str | None
    attempts: int


@dataclass(frozen=True)
class NewItem:
    """An input of a job about to be made."""

    label: str
    source: str
    image: str
    document: str | None = None


def jobs_folder() -> Path:
    return data_dir() / "batch"


class JobStore:
    """The jobs database. One per process; safe to share between processes."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or jobs_folder() / "jobs.sqlite"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # One connection shared by the runner's threads, one at a time; transactions are
        # begun by hand (isolation_level None) so that a claim is one BEGIN IMMEDIATE.
        self._db = sqlite3.connect(
            str(self.path), timeout=30, check_same_thread=False, isolation_level=None
        )
        self._db.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > JOBS_FORMAT:
            self._db.close()
            raise JobError(
                f"{self.path} was written by a newer version of Maverick Desk (format "
                f"{version}); update the app to open its batch jobs."
            )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(f"BEGIN IMMEDIATE; {_SCHEMA}")
        try:
            columns = {row["name"] for row in self._db.execute("PRAGMA table_info(items)")}
            if "document" not in columns:  # a format 1 file
                self._db.execute("ALTER TABLE items ADD COLUMN document TEXT")
            self._db.execute(f"PRAGMA user_version = {JOBS_FORMAT}")
        except BaseException:
            self._db.execute("ROLLBACK")
            self._db.close()
            raise
        self._db.execute("COMMIT")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> JobStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _read(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def create(
        self,
        name: str,
        prompt: str,
        items: Sequence[NewItem],
        *,
        schema: dict[str, Any] | None,
        settings: dict[str, Any],
    ) -> int:
        if not items:
            raise JobError("A batch job needs at least one item.")
        with self._write() as db:
            cursor = db.execute(
                "INSERT INTO jobs (created, name, prompt, schema, settings, state) "
                "VALUES (?, ?, ?, ?, ?, 'open')",
                (
                    time.time(),
                    name,
                    prompt,
                    None if schema is None else json.dumps(schema),
                    json.dumps(settings),
                ),
            )
            job_id = int(cursor.lastrowid or 0)
            db.executemany(
                "INSERT INTO items (job_id, idx, label, source, image, document, status) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (job_id, i, it.label, it.source, it.image, it.document, PENDING)
                    for i, it in enumerate(items)
                ],
            )
        return job_id

    def job(self, job_id: int) -> Job:
        rows = self._read("SELECT * FROM jobs WHERE id = ?", (job_id,))
        row = rows[0] if rows else None
        if row is None:
            raise JobError(
                f"There is no batch job {job_id}; `maverick-desk batch --list` lists them."
            )
        return Job(
            id=row["id"],
            name=row["name"],
            prompt=row["prompt"],
            schema=None if row["schema"] is None else json.loads(row["schema"]),
            settings=json.loads(row["settings"]),
            state=row["state"],
            created=row["created"],
        )

    def jobs(self) -> list[tuple[Job, dict[str, int]]]:
        """Every job, newest first, with its items counted by status."""
        found = []
        for (job_id,) in self._read("SELECT id FROM jobs ORDER BY id DESC"):
            found.append((self.job(job_id), self.counts(job_id)))
        return found

    def counts(self, job_id: int) -> dict[str, int]:
        rows = self._read(
            "SELECT status, count(*) FROM items WHERE job_id = ? GROUP BY status", (job_id,)
        )
        counts = {PENDING: 0, RUNNING: 0, DONE: 0, FAILED: 0}
        counts.update({str(status): int(n) for status, n in rows})
        return counts

    def items(self, job_id: int) -> list[Item]:
        rows = self._read("SELECT * FROM items WHERE job_id = ? ORDER BY idx", (job_id,))
        return [_item(row) for row in rows]

    def set_state(self, job_id: int, state: str) -> None:
        with self._write() as db:
            db.execute("UPDATE jobs SET state = ? WHERE id = ?", (state, job_id))

    def update_settings(self, job_id: int, changes: dict[str, Any]) -> Job:
        """Change entries of a job's settings (e.g. the engine it resumes on); the job as now."""
        with self._write() as db:
            row = db.execute("SELECT settings FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                raise JobError(f"There is no batch job {job_id}.")
            settings = {**json.loads(row["settings"]), **changes}
            db.execute("UPDATE jobs SET settings = ? WHERE id = ?", (json.dumps(settings), job_id))
        return self.job(job_id)

    def reopen(self, job_id: int, *, retry_failed: bool) -> None:
        """Make items left running by a killed process (and failed ones if asked) pending."""
        statuses = (RUNNING, FAILED) if retry_failed else (RUNNING,)
        with self._write() as db:
            db.execute(
                f"UPDATE items SET status = ? WHERE job_id = ? AND status IN "
                f"({','.join('?' * len(statuses))})",
                (PENDING, job_id, *statuses),
            )
            db.execute("UPDATE jobs SET state = 'open' WHERE id = ?", (job_id,))

    def claim(self, job_id: int) -> Item | None:
        """The next pending item, marked running (and its attempt counted), or None."""
        with self._write() as db:
            row = db.execute(
                "SELECT * FROM items WHERE job_id = ? AND status = ? ORDER BY idx LIMIT 1",
                (job_id, PENDING),
            ).fetchone()
            if row is None:
                return None
            db.execute(
                "UPDATE items SET status = ?, attempts = attempts + 1 WHERE job_id = ? AND idx = ?",
                (RUNNING, job_id, row["idx"]),
            )
        return _item(row)

    def finish(
        self,
        item: Item,
        *,
        text: str,
        value: Any = None,
        constrained: bool | None = None,
        seconds: float = 0.0,
    ) -> None:
        """Save an item's result and mark it done, in one transaction."""
        with self._write() as db:
            db.execute(
                "UPDATE items SET status = ?, result_text = ?, result_json = ?, constrained = ?, "
                "error = NULL, seconds = ?, finished = ? WHERE job_id = ? AND idx = ? "
                "AND status = ?",
                (
                    DONE,
                    text,
                    None if value is None else json.dumps(value, ensure_ascii=False),
                    None if constrained is None else int(constrained),
                    seconds,
                    time.time(),
                    item.job_id,
                    item.idx,
                    RUNNING,
                ),
            )

    def fail(self, item: Item, error: str) -> None:
        with self._write() as db:
            db.execute(
                "UPDATE items SET status = ?, error = ?, finished = ? WHERE job_id = ? AND idx = ?",
                (FAILED, error, time.time(), item.job_id, item.idx),
            )

    def release(self, item: Item) -> None:
        """Put back an item whose answer was stopped (pause, cancel): it runs again later."""
        with self._write() as db:
            db.execute(
                "UPDATE items SET status = ? WHERE job_id = ? AND idx = ? AND status = ?",
                (PENDING, item.job_id, item.idx, RUNNING),
            )

    def integrity(self) -> str:
        return str(self._read("PRAGMA integrity_check")[0][0])


def _item(row: sqlite3.Row) -> Item:
    return Item(
        job_id=row["job_id"],
        idx=row["idx"],
        label=row["label"],
        source=row["source"],
        image=row["image"],
        document=row["document"],
        status=row["status"],
        result_text=row["result_text"],
        result_json=None if row["result_json"] is None else json.loads(row["result_json"]),
        constrained=None if row["constrained"] is None else bool(row["constrained"]),
        error=row["error"],
        attempts=row["attempts"],
    )
