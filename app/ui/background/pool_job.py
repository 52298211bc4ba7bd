"""One function on a QThreadPool, and what became of it as a signal.

The window's background work shares this shape: a function that would block the GUI
thread (a tokenizer to load, pages to draw, a long answer to search) runs on a pool
thread, and what it returned or the error it raised comes back as a signal, queued to
the thread that made the job. A job can be asked to stop: the function sees it through
the job it is handed (`should_stop`, checked between pieces of work), and a stopped job
reports no result. A function may also `report` pieces as it goes (a thumbnail a page).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

_RUNNING: set[PoolJob] = set()  # kept alive until run() ends, even if its owner is gone


class JobSignals(QObject):
    """What a job tells; connect slots of objects on the GUI thread (queued there)."""

    reported = Signal(object)  # a piece of the work, handed out by the function
    succeeded = Signal(object, object)  # the job's key, what the function returned
    failed = Signal(object, object)  # the job's key, the exception (one of `errors`)
    finished = Signal()  # after either, and after a stop


class PoolJob(QRunnable):
    """Runs `work(job)` on a pool thread; its result or its error as a signal; stoppable.

    Only exceptions of the types in `errors` become `failed`; any other is a bug and
    goes up on the pool thread (Qt prints it) after `finished`. `key` travels with both
    outcomes, so an owner that started several jobs knows which one answered.
    """

    def __init__(
        self,
        work: Callable[[PoolJob], object],
        errors: tuple[type[Exception], ...] = (),
        key: object = None,
    ) -> None:
        super().__init__()
        self.setAutoDelete(False)  # the owner may read `signals` after it ran
        self.signals = JobSignals()
        self.key = key
        self._work = work
        self._errors = errors
        self._stop = threading.Event()

    def start_on(self, pool: QThreadPool) -> None:
        """Queue the job on `pool`; it stays alive until it has run."""
        _RUNNING.add(self)
        pool.start(self)

    def stop(self) -> None:
        """Ask the function to stop; a stopped job reports no result."""
        self._stop.set()

    def should_stop(self) -> bool:
        """True once the owner asked it to stop; the function checks between pieces of work."""
        return self._stop.is_set()

    def report(self, piece: object) -> None:
        """For the function, on the pool thread: hand out a piece of the work now."""
        self.signals.reported.emit(piece)

    def run(self) -> None:
        try:
            result = self._work(self)
        except self._errors as exc:
            self.signals.failed.emit(self.key, exc)
        else:
            if not self._stop.is_set():
                self.signals.succeeded.emit(self.key, result)
        finally:
            self.signals.finished.emit()
            _RUNNING.discard(self)
