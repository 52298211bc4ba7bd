"""One job: its progress (rate, time left), its items with thumbnails and status, its table.

Rows are read from the job store: one per item, one column per field of the job's schema
(or one "answer" column), as the exports write them. A failed item's row says why.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Signal
from PySide6.QtGui import QColor, QIcon
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.batch.exports import rows
from app.batch.jobs import DONE, FAILED, Item, Job
from app.batch.runner import Progress
from app.ui.images.thumbnails import load_thumbnail

THUMB = 40
FAILED_COLOR = QColor("#c0392b")
MAX_COLUMN = 280  # pixels; a long answer is read in its tooltip


def describe(step: Progress) -> str:
    """'2 of 3 · 0.50 items/s · about 2 s left · 1 failed'."""
    parts = [f"{step.done} of {step.total}"]
    if step.rate > 0:
        parts.append(f"{step.rate:.2f} items/s")
    if step.seconds_left is not None and step.done < step.total:
        parts.append(f"about {_duration(step.seconds_left)} left")
    if step.failed:
        parts.append(f"{step.failed} failed")
    return " · ".join(parts)


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


class JobView(QWidget):
    """The job shown: progress, Pause / Resume / Cancel / Retry failed, results, exports."""

    pause_requested = Signal()
    resume_requested = Signal()
    cancel_requested = Signal()
    retry_requested = Signal()
    window_engine_wanted = Signal()  # resume on the window's engine, not the job's own
    export_wanted = Signal(str)  # the file chosen; its suffix picks the format

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Batch job")
        self.job: Job | None = None
        self.unfinished = False  # the job shown has items not yet answered
        self._thumbs: dict[str, QIcon] = {}
        self.title = QLabel(self)
        self.title.setWordWrap(True)
        self.progress = QProgressBar(self)
        self.progress.setAccessibleName("Batch progress")
        self.figures = QLabel(self)
        self.notice = QLabel(self)
        self.notice.setWordWrap(True)
        self.notice.hide()
        self.pause_button = QPushButton("Pause", self)
        self.resume_button = QPushButton("Resume", self)
        self.cancel_button = QPushButton("Cancel", self)
        self.retry_button = QPushButton("Retry failed", self)
        self.pause_button.clicked.connect(self.pause_requested)
        self.resume_button.clicked.connect(self.resume_requested)
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.retry_button.clicked.connect(self.retry_requested)
        self.window_engine_button = QPushButton("Resume on the window's engine", self)
        self.window_engine_button.clicked.connect(self.window_engine_wanted)
        self.window_engine_button.hide()  # offered when the job's own engine cannot be used
        self.export_buttons: dict[str, QPushButton] = {}
        controls = QHBoxLayout()
        for button in (self.pause_button, self.resume_button, self.cancel_button):
            controls.addWidget(button)
        controls.addWidget(self.retry_button)
        controls.addWidget(self.window_engine_button)
        controls.addStretch(1)
        for suffix in (".csv", ".jsonl", ".xlsx"):
            button = QPushButton(f"Export {suffix[1:].upper()}…", self)
            button.clicked.connect(lambda _=False, s=suffix: self._on_export_clicked(s))
            controls.addWidget(button)
            self.export_buttons[suffix] = button
        self.table = QTableWidget(self)
        self.table.setAccessibleName("Batch results")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setIconSize(QSize(THUMB, THUMB))
        self.table.verticalHeader().setDefaultSectionSize(THUMB + 6)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.progress)
        layout.addWidget(self.figures)
        layout.addWidget(self.notice)
        layout.addLayout(controls)
        layout.addWidget(self.table, 1)
        self.set_running(False, False)

    # ------------------------------------------------------------ state
    def show_job(self, job: Job, items: list[Item]) -> None:
        """Fill the table from the store's rows."""
        if self.job is None or self.job.id != job.id:
            self.figures.setText("")  # the last run's rate belongs to the job it ran
        self.job = job
        self.title.setText(f"<b>Job {job.id}</b> · {job.name}<br>{_escape(job.prompt)}")
        header, table = rows(job, items)
        self.table.setColumnCount(len(header))
        self.table.setHorizontalHeaderLabels(header)
        self.table.setRowCount(len(table))
        for r, (item, row) in enumerate(zip(items, table, strict=True)):
            for c, value in enumerate(row):
                cell = QTableWidgetItem("" if value is None else str(value))
                if item.status == FAILED:
                    cell.setForeground(FAILED_COLOR)
                    cell.setToolTip(item.error or "")
                elif c >= 3:
                    cell.setToolTip(cell.text()[:2000])
                self.table.setItem(r, c, cell)
            first = self.table.item(r, 0)
            if first is not None:
                first.setIcon(self._thumb(item.image))
                first.setToolTip(item.source)
        self.table.resizeColumnsToContents()
        for column in range(self.table.columnCount()):
            self.table.setColumnWidth(column, min(self.table.columnWidth(column), MAX_COLUMN))
        self.unfinished = any(i.status not in (DONE, FAILED) for i in items)
        done = sum(1 for i in items if i.status in (DONE, FAILED))
        failed = sum(1 for i in items if i.status == FAILED)
        self.progress.setRange(0, max(1, len(items)))
        self.progress.setValue(done)
        if not self.figures.text() or done == len(items):
            self.figures.setText(
                f"{done} of {len(items)}" + (f" · {failed} failed" if failed else "")
            )
        self.retry_button.setEnabled(failed > 0 and not self.pause_button.isEnabled())

    def show_progress(self, step: Progress) -> None:
        self.progress.setRange(0, max(1, step.total))
        self.progress.setValue(step.done)
        self.figures.setText(describe(step))

    def show_notice(self, sentence: str) -> None:
        self.notice.setText(sentence)
        self.notice.setVisible(bool(sentence))
        self.window_engine_button.hide()

    def offer_window_engine(self, sentence: str) -> None:
        """Say why the job's own engine cannot be used, and offer the window's."""
        self.show_notice(sentence)
        self.window_engine_button.show()

    def set_running(self, running: bool, paused: bool) -> None:
        """Which buttons apply: a running job pauses or cancels, a held one resumes."""
        self.pause_button.setEnabled(running and not paused)
        self.resume_button.setEnabled(paused if running else self.unfinished)
        self.cancel_button.setEnabled(running)
        failed = any(
            (self.table.item(r, 2) or QTableWidgetItem()).text() == FAILED
            for r in range(self.table.rowCount())
        )
        self.retry_button.setEnabled(failed and not running)
        for button in self.export_buttons.values():
            button.setEnabled(self.job is not None)

    # ------------------------------------------------------------ exports
    def _on_export_clicked(self, suffix: str) -> None:
        if self.job is None:
            return
        name = f"batch-{self.job.id}{suffix}"
        path, _ = QFileDialog.getSaveFileName(self, "Save the results", name, f"*{suffix}")
        if path:
            if not path.lower().endswith(suffix):
                path += suffix
            self.export_wanted.emit(path)

    def _thumb(self, image: str) -> QIcon:
        icon = self._thumbs.get(image)
        if icon is None:
            icon = self._thumbs[image] = QIcon(load_thumbnail(image, THUMB))
        return icon


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")[:300]
