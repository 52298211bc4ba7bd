"""The Batch window: jobs from the store on the left; a new job's form, or a job, on the right.

Jobs are read from the SQLite job store (app.batch.jobs), so a job a killed app left
unfinished is listed when the window opens again, and Resume goes on where it stopped
without running a saved item again. A new job is answered by the window's engine: the
local worker (its requests take turns with the chat's, one item at a time) or the
server in use, N at a time. A job resumes on the engine it was started with, saved with
it (`app.batch.engine_choice`): its server, whichever engine the window uses now, or its
local model if the window has it loaded; where that engine cannot be used, a sentence
says why and offers the window's engine instead.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QInputDialog,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.batch.answers import server_answer, worker_answer
from app.batch.engine_choice import engine_settings, resume_on
from app.batch.exports import export
from app.batch.inputs import is_locked, locked_pdfs
from app.batch.jobs import DONE, FAILED, JobError, JobStore
from app.batch.runner import Answer, Progress
from app.batch.shared_worker import SharedWorker
from app.engines.openai_client import ServerSettings
from app.storage.errors import StorageError
from app.ui.batch.batch_run import BatchRun, NewJob
from app.ui.batch.batch_setup import BatchSetup, SetupError
from app.ui.batch.job_view import JobView
from app.ui.bridge.bridge import WorkerBridge

REFRESH_MS = 400  # the table is read again at most this often while a job runs


class BatchWindow(QWidget):
    """Make, run, pause, resume and export batch jobs."""

    def __init__(
        self, bridge: WorkerBridge, store_path: Path | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowFlag(Qt.WindowType.Window)
        self.setWindowTitle("Batch — Maverick Desk")
        self.setAccessibleName("Batch")
        self.resize(1100, 720)
        self.bridge = bridge
        self.store = JobStore(store_path)
        self.run: BatchRun | None = None
        self.job_list = QListWidget(self)
        self.job_list.setAccessibleName("Batch jobs")
        self.job_list.currentItemChanged.connect(self._on_job_chosen)
        self.new_button = QPushButton("New job", self)
        self.new_button.clicked.connect(self.show_setup)
        self.setup = BatchSetup(self)
        self.setup.start_requested.connect(self.start_new)
        self.view = JobView(self)
        self.view.pause_requested.connect(self.pause)
        self.view.resume_requested.connect(self.resume)
        self.view.cancel_requested.connect(self.cancel)
        self.view.retry_requested.connect(lambda: self.resume(retry_failed=True))
        self.view.window_engine_wanted.connect(self._on_window_engine_wanted)
        self._offered_retry = False  # the resume the window's engine was offered for
        self._passwords: dict[int, str] = {}  # encrypted PDFs' by job, for this session only
        self._new_password: str | None = None  # the job being made's, until it has an id
        self.view.export_wanted.connect(self._on_export_wanted)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.setup)
        self.stack.addWidget(self.view)
        left = QWidget(self)
        column = QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.new_button)
        column.addWidget(self.job_list)
        splitter = QSplitter(self)
        splitter.addWidget(left)
        splitter.addWidget(self.stack)
        splitter.setSizes([260, 840])
        layout = QHBoxLayout(self)
        layout.addWidget(splitter)
        self._refresh = QTimer(self)
        self._refresh.setSingleShot(True)
        self._refresh.setInterval(REFRESH_MS)
        self._refresh.timeout.connect(self._on_refresh_due)
        self.refresh_jobs()
        self.show_setup()

    # ------------------------------------------------------------ the engine
    def engine(self) -> tuple[str, bool]:
        """What answers the items, in words, and whether it is a server."""
        server = self.bridge.server_settings
        if server is not None:
            return f"The server in use: {server.model} at {server.base_url}", True
        return f"The local model: {self.bridge.model_path.name} (one item at a time)", False

    def _engine_problem(self) -> str | None:
        if self.bridge.server_settings is None and (
            self.bridge.ready is None or not self.bridge.client.alive
        ):
            if not self.bridge.client.alive:
                self.bridge.start()
            return (
                "The model is not loaded yet; press Resume once the main window says it is ready."
            )
        return None

    def _answer_maker(
        self, server: ServerSettings | None, password: str | None = None
    ) -> Callable[[threading.Event, Callable[[str], None]], Answer]:
        """Answers from `server`, or from the window's local worker (None)."""
        if server is not None:
            return lambda _stop, say: server_answer(server, say, password)
        shared = SharedWorker(self.bridge.client, self.bridge.router)
        return lambda stop, _say: worker_answer(shared, stop, password)

    # ------------------------------------------------------------ encrypted PDFs
    def ask_password(self, names: list[str]) -> str | None:
        """The password of encrypted PDFs, asked for without echo; None if none is given."""
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        text, ok = QInputDialog.getText(
            self, "PDF password",
            f"{shown} {'is' if len(names) == 1 else 'are'} protected by a password. Enter it "
            "(one for all; kept in memory only, never saved). Without it they are left out.",
            QLineEdit.EchoMode.Password,
        )  # fmt: skip
        return text if ok and text else None

    def _password_for(self, job_id: int) -> str | None:
        """The password a resumed job's encrypted whole PDFs need: known, or asked for."""
        if job_id in self._passwords:
            return self._passwords[job_id]
        locked = [
            item.label
            for item in self.store.items(job_id)
            if item.document and item.status != DONE and is_locked(Path(item.document))
        ]
        password = self.ask_password(locked) if locked else None
        if password is not None:
            self._passwords[job_id] = password
        return password

    # ------------------------------------------------------------ jobs
    def refresh_jobs(self) -> None:
        chosen = self.view.job.id if self.view.job is not None else None
        self.job_list.blockSignals(True)
        self.job_list.clear()
        for job, counts in self.store.jobs():
            total = sum(counts.values())
            state = "running" if self.run is not None and self.run.job_id == job.id else job.state
            text = f"Job {job.id} · {state} · {counts[DONE]}/{total} done"
            if counts[FAILED]:
                text += f", {counts[FAILED]} failed"
            item = QListWidgetItem(f"{text}\n{job.name}")
            item.setData(Qt.ItemDataRole.UserRole, job.id)
            self.job_list.addItem(item)
            if job.id == chosen:
                self.job_list.setCurrentItem(item)
        self.job_list.blockSignals(False)

    def job_ids(self) -> list[int]:
        return [
            int(self.job_list.item(i).data(Qt.ItemDataRole.UserRole))
            for i in range(self.job_list.count())
        ]

    def show_setup(self) -> None:
        self.job_list.setCurrentRow(-1)
        self.setup.set_engine(*self.engine())
        self.stack.setCurrentWidget(self.setup)

    def show_job(self, job_id: int) -> None:
        for i in range(self.job_list.count()):
            if self.job_list.item(i).data(Qt.ItemDataRole.UserRole) == job_id:
                self.job_list.setCurrentRow(i)
                return

    def show_current_job(self) -> None:
        if self.view.job is not None:
            self._fill(self.view.job.id)

    def _fill(self, job_id: int) -> None:
        self.view.show_job(self.store.job(job_id), self.store.items(job_id))
        running = self.run is not None and self.run.job_id == job_id
        self.view.set_running(running, running and self.run is not None and self.run.paused)

    def _on_refresh_due(self) -> None:
        self.refresh_jobs()  # the list's counts too
        self.show_current_job()

    def _on_job_chosen(self, item: QListWidgetItem | None, _previous: object = None) -> None:
        if item is None:
            return
        self.view.show_notice("")
        self._fill(int(item.data(Qt.ItemDataRole.UserRole)))
        self.stack.setCurrentWidget(self.view)

    # ------------------------------------------------------------ actions
    def start_new(self) -> None:
        """Check the form, then make the job and run it in the background."""
        if self.run is not None:
            self.setup.show_problem("A job is running; pause or cancel it first.")
            return
        try:
            paths, prompt, structured = self.setup.check()
        except SetupError as exc:
            self.setup.show_problem(str(exc))
            return
        problem = self._engine_problem()
        if problem is not None:
            self.setup.show_problem(problem.replace("press Resume", "press Start"))
            return
        try:
            locked = locked_pdfs(paths, self.setup.recursive.isChecked())
        except JobError as exc:
            self.setup.show_problem(str(exc))
            return
        self._new_password = self.ask_password([p.name for p in locked]) if locked else None
        self.setup.show_problem("")
        server = self.bridge.server_settings
        concurrency = self.setup.concurrency.value() if server is not None else 1
        settings: dict[str, Any] = {
            **engine_settings(server, self.bridge.model_path),  # resumed on it (never a key)
            "demo_if_missing": False,
            "concurrency": concurrency,
            "temperature": 0.0,
            "max_new_tokens": self.setup.max_tokens.value(),
            "budget": structured.budget if structured else self.setup.max_tokens.value(),
            "pdf_as": self.setup.pdf_as.currentData(),
        }
        new = NewJob(
            paths, prompt, structured.schema if structured else None, settings,
            self.setup.recursive.isChecked(), self.setup.pdf_as.currentData(), self._new_password,
        )  # fmt: skip
        run = BatchRun(
            self.store.path, self._answer_maker(server, self._new_password), new_job=new,
            concurrency=concurrency,
            parent=self,
        )  # fmt: skip
        self._start(run)
        self.setup.start_button.setEnabled(False)

    def resume(self, retry_failed: bool = False, window_engine: bool = False) -> None:
        """Go on with the job shown (held by Pause, stopped, or left by a killed app).

        It runs on the engine it was started with; `window_engine`: on the window's instead.
        """
        if self.run is not None:
            if self.run.paused and self.run.job_id == (self.view.job and self.view.job.id):
                self.run.resume()
                self.view.set_running(True, False)
            return
        if self.view.job is None:
            return
        job = self.store.job(self.view.job.id)
        now = self.bridge.server_settings
        if window_engine:
            changes = {**engine_settings(now, self.bridge.model_path), "demo_if_missing": False}
            changes["concurrency"] = job.settings.get("concurrency", 1) if now else 1
            job = self.store.update_settings(job.id, changes)  # it goes on there from now on
        server, problem = resume_on(job.id, job.settings, now, self.bridge.model_path)
        if problem is not None:
            self._offered_retry = retry_failed
            self.view.offer_window_engine(problem)
            return
        problem = self._engine_problem() if server is None else None
        if problem is not None:
            self.view.show_notice(problem)
            return
        concurrency = int(job.settings.get("concurrency", 1)) if server is not None else 1
        self.view.show_notice("")
        password = self._password_for(job.id)
        run = BatchRun(
            self.store.path, self._answer_maker(server, password), job_id=job.id,
            concurrency=concurrency,
            retry_failed=retry_failed, parent=self,
        )  # fmt: skip
        self._start(run)

    def _on_window_engine_wanted(self) -> None:
        self.resume(retry_failed=self._offered_retry, window_engine=True)

    def pause(self) -> None:
        if self.run is not None:
            self.run.pause()
            self.view.set_running(True, True)
            self.view.show_notice("Pausing: the item being answered finishes first.")

    def cancel(self) -> None:
        if self.run is not None:
            self.run.cancel()

    def _start(self, run: BatchRun) -> None:
        self.run = run
        run.job_created.connect(self._on_job_created)
        run.progressed.connect(self._on_progressed)
        run.noticed.connect(self.view.show_notice)
        run.run_finished.connect(self._on_run_finished)
        run.run_failed.connect(self._on_run_failed)
        run.start()
        if run.job_id is not None:
            self.refresh_jobs()
            self.show_job(run.job_id)
            self.view.set_running(True, False)

    # ------------------------------------------------------------ the run's signals
    def _on_job_created(self, job_id: int, left_out: list[str]) -> None:
        if self._new_password is not None:
            self._passwords[job_id] = self._new_password
        self.refresh_jobs()
        self.show_job(job_id)
        self.view.set_running(True, False)
        if left_out:
            self.view.show_notice("Left out: " + " ".join(left_out[:5]))

    def _on_progressed(self, step: Progress) -> None:
        if (
            self.view.job is not None
            and self.run is not None
            and self.view.job.id == self.run.job_id
        ):
            self.view.show_progress(step)
            if not self._refresh.isActive():
                self._refresh.start()

    def _on_run_finished(self, job_id: int, counts: dict[str, int]) -> None:
        self._end_run()
        state = self.store.job(job_id).state
        total = sum(counts.values())
        if state == "paused" or state == "cancelled":
            self.view.show_notice(
                f"Job {job_id} {'is paused' if state == 'paused' else 'was cancelled'} with "
                f"{counts[DONE]} of {total} done; every finished item is saved. Resume goes on."
            )
        # A finished job keeps what the run said (files left out, "not constrained").

    def _on_run_failed(self, sentence: str) -> None:
        self._end_run()
        if self.stack.currentWidget() is self.setup:
            self.setup.show_problem(sentence)
        else:
            self.view.show_notice(sentence)

    def _end_run(self) -> None:
        run, self.run = self.run, None
        if run is not None:
            run.deleteLater()
        self.setup.start_button.setEnabled(True)
        self.refresh_jobs()
        self.show_current_job()

    def _on_export_wanted(self, path: str) -> None:
        if self.view.job is None:
            return
        job_id = self.view.job.id
        try:
            export(self.store.job(job_id), self.store.items(job_id), Path(path))
        except (JobError, StorageError) as exc:
            self.view.show_notice(str(exc))
            return
        self.view.show_notice(f"Saved the table to {path}.")

    # ------------------------------------------------------------ closing
    def shutdown(self) -> None:
        """Stop a running job (its finished items are saved) and close the store."""
        if self.run is not None:
            self.run.wait()
            self.run = None
        self.store.close()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt override)
        if self.run is not None and not self.run.paused:
            self.run.pause()  # closing the window holds the job; reopening it resumes
            self.view.set_running(True, True)
        super().closeEvent(event)
