"""StoreWriter: the store's writes on a thread of their own, so the GUI thread never waits.

One thread, one connection (its own ConversationStore), writes in the order they were
submitted. `close` writes everything already submitted before it returns: nothing is
lost. A failed write is never swallowed: `on_error` gets a sentence and the exception
(on the writer thread; a Qt owner re-emits it as a signal), and the writes after it
still run, as the window's saver expects (it retries what is missing).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.storage.errors import StorageError
from app.storage.store import ConversationStore

log = logging.getLogger(__name__)

ErrorCallback = Callable[[str, BaseException], None]


@dataclass(frozen=True)
class _Write:
    label: str  # what it does, for the sentence: "save the answer"
    action: Callable[[ConversationStore], Any]
    done: Callable[[Any], None] | None


class StoreWriter:
    """Runs store writes in order on one thread; `close` drains the queue first."""

    def __init__(self, folder: Path, on_error: ErrorCallback) -> None:
        """Open the store on the writer thread; a failure to open is raised here."""
        self._on_error = on_error
        self._queue: queue.SimpleQueue[_Write | None] = queue.SimpleQueue()
        self._closed = False
        self._lock = threading.Lock()  # orders submit() against close()
        self._opened = threading.Event()
        self._open_error: BaseException | None = None
        self.notices: list[str] = []
        self._thread = threading.Thread(
            target=self._run, args=(Path(folder),), name="store-writer", daemon=False
        )
        self._thread.start()
        self._opened.wait()
        if self._open_error is not None:
            self._thread.join()
            raise self._open_error

    def submit(
        self,
        label: str,
        action: Callable[[ConversationStore], Any],
        done: Callable[[Any], None] | None = None,
    ) -> None:
        """Queue `action(store)`; `done(result)` runs after it, on the writer thread."""
        with self._lock:
            if self._closed:
                raise StorageError(f"Could not {label}: the store was already closed.")
            self._queue.put(_Write(label, action, done))

    def wait(self) -> None:
        """Block until every write submitted so far has run (for tests and shutdown)."""
        finished = threading.Event()
        self.submit("finish the pending writes", lambda store: None, lambda _: finished.set())
        finished.wait()

    def close(self) -> None:
        """Run every write already submitted, then close the store and end the thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(None)
        self._thread.join()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _run(self, folder: Path) -> None:
        try:
            store = ConversationStore.open(folder)
        except BaseException as exc:  # handed to the constructor, which raises it
            self._open_error = exc
            self._opened.set()
            return
        self.notices = list(store.notices)
        self._opened.set()
        try:
            while (write := self._queue.get()) is not None:
                self._perform(store, write)
        finally:
            store.close()

    def _perform(self, store: ConversationStore, write: _Write) -> None:
        try:
            result = write.action(store)
            if write.done is not None:
                write.done(result)
        except StorageError as exc:
            log.warning("store write failed: %s", exc, exc_info=True)
            self._report(str(exc), exc)
        except Exception as exc:  # a bug: said to the user and logged with its traceback
            log.exception("store write %r failed unexpectedly", write.label)
            self._report(f"Could not {write.label}: {exc!r}. See the log for details.", exc)

    def _report(self, sentence: str, exc: BaseException) -> None:
        try:
            self._on_error(sentence, exc)
        except Exception:  # the writer must keep writing even if the reporter fails
            log.exception("the store writer's error callback failed")
