"""One batch run off the GUI thread: make the job (copying its inputs), then answer its items.

`run_job` (app.batch.runner) does the work on a pool thread, N threads of its own at a
time on a server; what it reports is queued and handed to the GUI thread by a timer
(a signal emitted from a thread Qt did not start is not safe in PySide6), so the window
never waits on a model. Pause holds the run between items; Cancel also stops the answer
in flight, which is put back and runs again when the job is resumed.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QThreadPool, QTimer, Signal

from app.batch.answers import EngineStopped
from app.batch.inputs import collect
from app.batch.jobs import JobError, JobStore
from app.batch.runner import Answer, Control, Progress, run_job
from app.structured.schema import SchemaError
from app.ui.background.pool_job import PoolJob

log = logging.getLogger(__name__)

# Makes the answer function once the run's thread starts: (stop event, say) -> Answer.
AnswerMaker = Callable[[threading.Event, Callable[[str], None]], Answer]
POLL_MS = 100


class NewJob:
    """What the setup asked for: the inputs to copy in, and the job's row."""

    def __init__(
        self,
        paths: list[str],
        prompt: str,
        schema: dict[str, Any] | None,
        settings: dict[str, Any],
        recursive: bool = False,
        pdf_as: str = "pages",
        password: str | None = None,
    ) -> None:
        self.paths, self.prompt, self.schema = paths, prompt, schema
        self.settings, self.recursive, self.pdf_as = settings, recursive, pdf_as
        self.password = password  # encrypted PDFs': in memory only, never in the job store


class BatchRun(QObject):
    """Runs one job (made first, for a `NewJob`); tells how it goes in signals."""

    job_created = Signal(int, list)  # job id, sentences for files left out
    progressed = Signal(object)  # runner.Progress
    noticed = Signal(str)  # a sentence from the engine (e.g. "not constrained")
    run_finished = Signal(int, object)  # job id, its items counted by status
    run_failed = Signal(str)  # a sentence: the run stopped, finished items are saved

    def __init__(
        self,
        store_path: Path,
        make_answer: AnswerMaker,
        *,
        job_id: int | None = None,
        new_job: NewJob | None = None,
        concurrency: int = 1,
        retry_failed: bool = False,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.store_path = store_path
        self.job_id = job_id
        self.control = Control()
        self._new_job = new_job
        self._make_answer = make_answer
        self._concurrency = concurrency
        self._retry_failed = retry_failed
        self._stop = threading.Event()
        self._inbox: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self._on_timer)
        self._job = PoolJob(self._work, errors=(Exception,))
        self._job.signals.failed.connect(self._on_job_failed)
        self._job.signals.finished.connect(self._on_timer)
        self.running = False

    # ------------------------------------------------------------ actions
    def start(self) -> None:
        self.running = True
        self._timer.start()
        self._job.start_on(QThreadPool.globalInstance())

    def pause(self) -> None:
        """Hold the run once the items in flight are answered."""
        self.control.pause()

    def resume(self) -> None:
        self.control.resume()

    @property
    def paused(self) -> bool:
        return self.control.paused

    def cancel(self) -> None:
        """Stop now: the answer in flight is stopped and runs again on resume."""
        self._stop.set()
        self.control.cancel()

    def wait(self, timeout_s: float = 30.0) -> bool:
        """Cancel and wait for the run's thread (the window is closing)."""
        self.cancel()
        return QThreadPool.globalInstance().waitForDone(int(timeout_s * 1000))

    # ------------------------------------------------------------ the pool thread
    def _work(self, job: PoolJob) -> None:
        with JobStore(self.store_path) as store:
            if self._new_job is not None:
                self.job_id = self._create(store, self._new_job)
            assert self.job_id is not None
            answer = self._make_answer(self._stop, lambda text: self._inbox.put(("notice", text)))
            counts = run_job(
                store,
                self.job_id,
                answer,
                concurrency=self._concurrency,
                control=self.control,
                progress=lambda step: self._inbox.put(("progress", step)),
                retry_failed=self._retry_failed,
            )
            self._inbox.put(("finished", counts))

    def _create(self, store: JobStore, new: NewJob) -> int:
        collected = collect(
            new.paths, recursive=new.recursive, pdf_as=new.pdf_as, password=new.password,
            password_hint="Start the job again and enter its password when asked.",
        )  # fmt: skip
        name = ", ".join(Path(p).name for p in new.paths)[:120]
        job_id = store.create(
            name, new.prompt, collected.items, schema=new.schema, settings=new.settings
        )
        self._inbox.put(("created", (job_id, list(collected.left_out))))
        return job_id

    # ------------------------------------------------------------ the GUI thread
    def _on_timer(self) -> None:
        while True:
            try:
                kind, value = self._inbox.get_nowait()
            except queue.Empty:
                return
            if kind == "created":
                self.job_created.emit(*value)
            elif kind == "progress":
                assert isinstance(value, Progress)
                self.progressed.emit(value)
            elif kind == "notice":
                self.noticed.emit(value)
            elif kind == "finished":
                self._end()
                self.run_finished.emit(self.job_id, value)

    def _on_job_failed(self, _key: object, error: Exception) -> None:
        self._on_timer()  # what was reported before the failure comes first
        self._end()
        if isinstance(error, (JobError, SchemaError, EngineStopped)):
            self.run_failed.emit(str(error))
            return
        log.error("batch job %s stopped", self.job_id, exc_info=error)
        self.run_failed.emit(
            f"The batch stopped: {error} Every finished item is saved; press Resume to go on."
        )

    def _end(self) -> None:
        self.running = False
        self._timer.stop()
