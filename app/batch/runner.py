"""Running a batch job: items one at a time (a local worker) or N at a time (a server).

The runner knows nothing of engines: it is given `answer(job, item) -> Outcome`, which
raises `ItemFailed` with a sentence when an item cannot be answered. Each finished item
is committed before the next is claimed; `Control` pauses or cancels between items (an
answer in flight is put back and runs again on resume).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.batch.jobs import DONE, FAILED, Item, Job, JobStore


class ItemFailed(RuntimeError):
    """An item that could not be answered; the message says why, for the results table."""


class Stopped(RuntimeError):
    """The answer in flight was stopped by a pause or a cancel."""


@dataclass(frozen=True)
class Outcome:
    """An item's answer: its text and, for a structured job, the validated value."""

    text: str
    value: Any = None  # the validated JSON value of a structured answer
    constrained: bool | None = None  # None: no schema; False: asked for, checked, not forced


@dataclass(frozen=True)
class Progress:
    """How a run stands, for a progress bar."""

    done: int  # items finished (done or failed) in all
    failed: int
    total: int
    rate: float  # items a second in this run
    seconds_left: float | None
    last: Item | None


Answer = Callable[[Job, Item], Outcome]


class Control:
    """Pause, resume and cancel, from any thread."""

    def __init__(self) -> None:
        self._running = threading.Event()
        self._running.set()
        self.cancelled = False

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def cancel(self) -> None:
        self.cancelled = True
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def wait(self) -> bool:
        """Block while paused; False once cancelled."""
        self._running.wait()
        return not self.cancelled


def run_job(
    store: JobStore,
    job_id: int,
    answer: Answer,
    *,
    concurrency: int = 1,
    control: Control | None = None,
    progress: Callable[[Progress], None] = lambda _p: None,
    retry_failed: bool = False,
) -> dict[str, int]:
    """Answer every pending item of the job; return its items counted by status."""
    control = control or Control()
    store.reopen(job_id, retry_failed=retry_failed)
    job = store.job(job_id)
    counts = store.counts(job_id)
    total = sum(counts.values())
    finished_before = counts[DONE] + counts[FAILED]
    lock = threading.Lock()
    started = time.monotonic()
    state = {"done": finished_before, "failed": counts[FAILED], "this_run": 0}
    errors: list[BaseException] = []

    def work() -> None:
        while control.wait():
            item = store.claim(job_id)
            if item is None:
                return
            began = time.monotonic()
            try:
                outcome = answer(job, item)
            except Stopped:
                store.release(item)
                return
            except ItemFailed as exc:
                store.fail(item, str(exc))
                failed = True
            except BaseException as exc:  # a bug or a dead engine: stop the run, say it
                store.release(item)
                errors.append(exc)
                control.cancel()
                return
            else:
                store.finish(
                    item,
                    text=outcome.text,
                    value=outcome.value,
                    constrained=outcome.constrained,
                    seconds=time.monotonic() - began,
                )
                failed = False
            with lock:
                state["done"] += 1
                state["failed"] += failed
                state["this_run"] += 1
                elapsed = time.monotonic() - started
                rate = state["this_run"] / elapsed if elapsed > 0 else 0.0
                left = (total - state["done"]) / rate if rate > 0 else None
                progress(Progress(state["done"], state["failed"], total, rate, left, item))

    threads = [threading.Thread(target=work, daemon=True) for _ in range(max(1, concurrency))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    counts = store.counts(job_id)
    if control.cancelled:
        store.set_state(job_id, "cancelled")
    elif counts[DONE] + counts[FAILED] == total:
        store.set_state(job_id, "finished")
    else:
        store.set_state(job_id, "paused")
    return counts
