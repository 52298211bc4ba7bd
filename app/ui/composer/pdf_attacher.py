"""Attaching PDFs: one page picker at a time, then the picked pages drawn in the background.

A PDF that cannot be used at all (damaged, empty, not really a PDF) is refused with its
sentence and no dialog; an encrypted one opens the picker at its password prompt.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QThreadPool, Signal
from PySide6.QtWidgets import QDialog, QWidget

from app.documents.tiling import MAVERICK, ProcessorSettings
from app.ui.background.pool_job import PoolJob
from app.ui.composer.pdf_page_dialog import PdfPageDialog
from app.ui.composer.pdf_render_job import DrawnPage, page_render_job

log = logging.getLogger(__name__)


class PdfAttacher(QObject):
    """Turns PDF files into drawn pages, asking the user which pages through a dialog."""

    pages_drawn = Signal(list)  # DrawnPage
    failed = Signal(str)  # a sentence for the user
    dialog_opened = Signal(object)  # the PdfPageDialog, for tests and screenshots

    def __init__(self, budget: Callable[[], int], parent: QWidget) -> None:
        super().__init__(parent)
        self._parent = parent
        self._budget = budget
        self._queue: list[Path] = []
        self.dialog: PdfPageDialog | None = None
        self.settings: ProcessorSettings = MAVERICK
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._jobs: list[PoolJob] = []

    def busy(self) -> bool:
        """A picker is open or pages are being drawn."""
        return self.dialog is not None or self._pool.activeThreadCount() > 0

    def add(self, path: Path) -> None:
        if path in self._queue:
            return
        self._queue.append(path)
        if self.dialog is None:
            self._open_next()

    def _open_next(self) -> None:
        while self._queue:
            path = self._queue.pop(0)
            dialog = PdfPageDialog(path, self._budget(), self._parent)
            if dialog.error:
                dialog.deleteLater()
                self.failed.emit(f"Not attached: {dialog.error}")
                continue
            self.dialog = dialog
            dialog.finished.connect(self._on_dialog_finished)
            dialog.open()
            self.dialog_opened.emit(dialog)
            return

    def _on_dialog_finished(self, result: int) -> None:
        dialog = self.dialog
        self.dialog = None
        if dialog is not None:
            if result == QDialog.DialogCode.Accepted:
                self._draw(dialog)
            dialog.deleteLater()
        self._open_next()

    def _draw(self, dialog: PdfPageDialog) -> None:
        job = page_render_job(
            dialog.path, dialog.password, dialog.pages(), self.settings, dialog.text_layer()
        )
        job.signals.succeeded.connect(self._on_pages_drawn)
        job.signals.failed.connect(self._on_draw_failed)
        if self._pool.activeThreadCount() == 0:
            self._jobs.clear()  # earlier jobs have run and reported
        self._jobs.append(job)
        job.start_on(self._pool)

    def _on_pages_drawn(self, _path: Path, drawn: list[DrawnPage]) -> None:
        self.pages_drawn.emit(drawn)

    def _on_draw_failed(self, path: Path, exc: Exception) -> None:
        log.warning("pages of %s not drawn: %s", path, exc)
        self.failed.emit(f"Not attached: {exc}")

    def shutdown(self) -> None:
        """Stop drawing and wait for the thread, so none outlives the window."""
        self._queue.clear()
        if self.dialog is not None:
            self.dialog.reject()
        for job in self._jobs:
            job.stop()
        self._pool.waitForDone()
        self._jobs.clear()
