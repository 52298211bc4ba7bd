"""Runs a model download off the UI thread and reports it as Qt signals.

The download itself (`app.downloads`) is plain Python; this object starts it on a
Python thread and re-emits what happens as signals, which Qt queues to the UI thread.
Pause and Cancel are passed to the running `Download`, which stops after the piece in
hand. `shutdown` pauses and waits for the thread, so the window can close mid-download
and the next start continues from the partial files.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from PySide6.QtCore import QObject, Signal, SignalInstance

from app.downloads.hub import read_plan
from app.downloads.plan import DEFAULT_TOKEN_ENV, DownloadError, DownloadPlan
from app.downloads.progress import Progress
from app.downloads.transfer import Download, discard_partials

log = logging.getLogger(__name__)


class DownloadRunner(QObject):
    """One download at a time; every run ends in finished, paused, cancelled or failed."""

    plan_read = Signal(object)  # DownloadPlan: the files and sizes, before anything is written
    progress_made = Signal(object)  # Progress
    download_finished = Signal(object)  # Path of the checked model folder
    download_paused = Signal()
    download_cancelled = Signal()
    download_failed = Signal(str)  # a sentence for the user

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._download: Download | None = None
        self._stop: str | None = None
        self._working = False  # a run is under way; cleared with its last signal, under the lock
        self.plan: DownloadPlan | None = None  # the last plan read (kept while paused)

    @property
    def running(self) -> bool:
        """True from `start` until the run's last signal is sent (not until the thread ends)."""
        with self._lock:
            return self._working

    def start(
        self,
        repo_id: str,
        revision: str,
        target: Path | None,
        token_env: str = DEFAULT_TOKEN_ENV,
        read_only: bool = False,
    ) -> bool:
        """Read the plan and (unless `read_only`) download; False when one already runs."""
        with self._lock:
            if self._working:
                return False
            self._download, self._stop, self._working = None, None, True
        self._thread = threading.Thread(
            target=self._work,
            args=(repo_id, revision, target, token_env, read_only),
            name="model-download",
            daemon=True,
        )
        self._thread.start()
        return True

    def pause(self) -> None:
        with self._lock:
            if self._download is not None:
                self._download.pause()
            else:
                self._stop = self._stop or "paused"

    def cancel(self) -> None:
        """Stop and delete the partial files; also when paused (nothing runs then)."""
        with self._lock:
            if self._download is not None:
                self._download.cancel()
                return
            if self._working:  # before the transfer starts: the thread reads this
                self._stop = "cancelled"
                return
            plan = self.plan
        if plan is not None:  # paused or stopped: nothing runs, so delete here
            discard_partials(plan)
            self.download_cancelled.emit()

    def shutdown(self, timeout_s: float = 15.0) -> None:
        """Pause and wait for the thread (the window is closing; partial files stay)."""
        self.pause()
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                log.warning("the download thread did not stop within %.0f s", timeout_s)

    # ------------------------------------------------------------ the thread
    def _work(
        self, repo_id: str, revision: str, target: Path | None, token_env: str, read_only: bool
    ) -> None:
        try:
            self._download_once(repo_id, revision, target, token_env, read_only)
        except Exception as exc:  # noqa: BLE001 (said to the user; the traceback is logged)
            log.exception("the download of %s stopped", repo_id)
            self._end(self.download_failed, f"The download stopped unexpectedly: {exc}")

    def _download_once(
        self, repo_id: str, revision: str, target: Path | None, token_env: str, read_only: bool
    ) -> None:
        try:
            plan = read_plan(repo_id, revision, target, token_env)
        except DownloadError as exc:
            self._end(self.download_failed, str(exc))
            return
        self.plan = plan
        self.plan_read.emit(plan)
        if read_only:
            self._end(None)
            return
        with self._lock:
            stop = self._stop
            if stop is None:
                download = self._download = Download(plan, self._emit_progress, token_env)
        if stop == "cancelled":
            discard_partials(plan)
            self._end(self.download_cancelled)
            return
        if stop is not None:
            self._end(self.download_paused)
            return
        try:
            outcome = download.run()
        except DownloadError as exc:
            self._end(self.download_failed, str(exc))
            return
        if outcome == "finished":
            self._end(self.download_finished, plan.target)
        elif outcome == "cancelled":
            self._end(self.download_cancelled)
        else:
            self._end(self.download_paused)

    def _end(self, signal: SignalInstance | None, *args: object) -> None:
        """The run's last word, sent under the lock with the run marked over.

        A Cancel or a start that follows the signal then always finds the run over
        (the emit only queues the signal to the UI thread; it runs no slot here).
        """
        with self._lock:
            self._download, self._working = None, False
            if signal is not None:
                signal.emit(*args)

    def _emit_progress(self, progress: Progress) -> None:
        self.progress_made.emit(progress)
