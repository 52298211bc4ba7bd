"""PoolJob: a function on a real QThreadPool, its result, its error, a stop, its pieces."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import QObject, QThread, QThreadPool

from app.ui.background.pool_job import PoolJob

WAIT_MS = 5000


class Receiver(QObject):
    """Slots on the GUI thread, so the job's signals arrive queued, as in the window."""

    def __init__(self) -> None:
        super().__init__()
        self.results: list[tuple[object, object]] = []
        self.errors: list[tuple[object, object]] = []
        self.pieces: list[object] = []
        self.finished = 0
        self.threads: set[bool] = set()

    def on_succeeded(self, key: object, result: object) -> None:
        self.threads.add(QThread.currentThread() is self.thread())
        self.results.append((key, result))

    def on_failed(self, key: object, exc: object) -> None:
        self.errors.append((key, exc))

    def on_reported(self, piece: object) -> None:
        self.threads.add(QThread.currentThread() is self.thread())
        self.pieces.append(piece)

    def on_finished(self) -> None:
        self.finished += 1


def connected(job: PoolJob) -> Receiver:
    receiver = Receiver()
    job.signals.succeeded.connect(receiver.on_succeeded)
    job.signals.failed.connect(receiver.on_failed)
    job.signals.reported.connect(receiver.on_reported)
    job.signals.finished.connect(receiver.on_finished)
    return receiver


@pytest.fixture
def pool() -> QThreadPool:
    pool = QThreadPool()
    pool.setMaxThreadCount(1)
    yield pool
    pool.waitForDone()


def test_the_result_comes_back_with_the_key_on_the_gui_thread(qtbot, pool) -> None:
    ran_on: list[bool] = []
    gui = QThread.currentThread()

    def work(job: PoolJob) -> int:
        ran_on.append(QThread.currentThread() is not gui)
        return 6 * 7

    job = PoolJob(work, key="answer")
    receiver = connected(job)
    with qtbot.waitSignal(job.signals.finished, timeout=WAIT_MS):
        job.start_on(pool)
    qtbot.waitUntil(lambda: receiver.finished == 1, timeout=WAIT_MS)
    assert ran_on == [True]  # off the GUI thread
    assert receiver.results == [("answer", 42)]
    assert receiver.errors == []
    assert receiver.threads == {True}  # delivered on the receiver's (GUI) thread


def test_a_listed_error_comes_back_as_failed_and_no_result(qtbot, pool) -> None:
    def work(job: PoolJob) -> int:
        raise ValueError("not a number")

    job = PoolJob(work, errors=(ValueError,), key=7)
    receiver = connected(job)
    job.start_on(pool)
    qtbot.waitUntil(lambda: receiver.finished == 1, timeout=WAIT_MS)
    assert receiver.results == []
    [(key, exc)] = receiver.errors
    assert key == 7 and isinstance(exc, ValueError) and str(exc) == "not a number"


def test_an_unlisted_error_is_a_bug_that_goes_up_not_a_failed(qtbot, pool) -> None:
    def work(job: PoolJob) -> int:
        raise KeyError("a bug")

    job = PoolJob(work, errors=(ValueError,))
    receiver = connected(job)
    with qtbot.captureExceptions() as raised:
        job.start_on(pool)
        qtbot.waitUntil(lambda: receiver.finished == 1, timeout=WAIT_MS)
        pool.waitForDone()
    assert [kind for kind, _, _ in raised] == [KeyError]
    assert receiver.results == [] and receiver.errors == []


def test_a_stopped_job_reports_its_pieces_so_far_and_no_result(qtbot, pool) -> None:
    started = threading.Event()
    release = threading.Event()

    def work(job: PoolJob) -> str:
        done = 0
        for piece in range(100):
            if job.should_stop():
                break
            job.report(piece)
            done += 1
            if piece == 1:
                started.set()
                release.wait(WAIT_MS / 1000)
        return f"{done} pieces"

    job = PoolJob(work)
    receiver = connected(job)
    job.start_on(pool)
    assert started.wait(WAIT_MS / 1000)
    job.stop()
    release.set()
    qtbot.waitUntil(lambda: receiver.finished == 1, timeout=WAIT_MS)
    assert job.should_stop()
    assert receiver.pieces == [0, 1]  # stopped between pieces
    assert receiver.results == [] and receiver.errors == []
    assert receiver.threads == {True}


def test_the_job_outlives_its_owner_until_it_has_run(qtbot, pool) -> None:
    release = threading.Event()
    receiver = Receiver()
    job = PoolJob(lambda job: release.wait(WAIT_MS / 1000))
    job.signals.succeeded.connect(receiver.on_succeeded)
    job.start_on(pool)
    del job  # the owner lets go while it runs
    release.set()
    qtbot.waitUntil(lambda: len(receiver.results) == 1, timeout=WAIT_MS)
    assert receiver.results == [(None, True)]
