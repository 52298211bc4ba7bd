"""Copy and Save-as-CSV buttons for each table or csv block in a finished answer.

Any answer but a short one is searched for tables on a pool thread: markdown-it takes
about a millisecond per thousand characters (a 16,000-character answer held the
window for 14 ms as it finished, seconds on hundreds of kilobytes), so finishing an
answer never blocks the window.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.documents.csv_blocks import CsvBlock, find_csv_blocks, may_hold_csv_blocks, save_csv
from app.storage.errors import StorageError
from app.ui.message_actions import action_button

BACKGROUND_CHARS = 2_000  # longer answers are searched off the GUI thread (> ~2 ms here)


_RUNNING: set[_FindJob] = set()  # kept alive until run() ends, even if the view is gone


class _FoundSignals(QObject):
    found = Signal(list)  # CsvBlock


class _FindJob(QRunnable):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.signals = _FoundSignals()
        self._text = text

    def run(self) -> None:
        try:
            self.signals.found.emit(find_csv_blocks(self._text))
        finally:
            _RUNNING.discard(self)


class TableActions(QWidget):
    """One row per table in the answer: its size, then Copy CSV and Save as CSV."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Tables in this answer")
        self.blocks: list[CsvBlock] = []
        self._job: _FindJob | None = None
        self.copy_buttons: list[QToolButton] = []
        self.save_buttons: list[QToolButton] = []
        self.message = QLabel(self)
        self.message.setObjectName("tableMessage")
        self.message.setWordWrap(True)
        self.message.setAccessibleName("Table message")
        self.message.hide()
        self._rows = QVBoxLayout(self)
        self._rows.setContentsMargins(0, 0, 0, 0)
        self._rows.setSpacing(2)
        self._rows.addWidget(self.message)
        self.hide()

    def set_markdown(self, text: str) -> None:
        """Find the tables in `text` and show a row of buttons for each."""
        if len(text) <= BACKGROUND_CHARS or not may_hold_csv_blocks(text):
            self._show_blocks(find_csv_blocks(text))
            return
        self._job = _FindJob(text)
        self._job.signals.found.connect(self._show_blocks)
        _RUNNING.add(self._job)
        QThreadPool.globalInstance().start(self._job)

    @property
    def searching(self) -> bool:
        """A long answer is still being searched for tables."""
        return self._job is not None

    def _show_blocks(self, blocks: list[CsvBlock]) -> None:
        self._job = None
        self.blocks = blocks
        for index, block in enumerate(self.blocks, 1):
            rows, cols = block.shape
            name = f"Table {index}" if len(self.blocks) > 1 else "Table"
            label = QLabel(f"{name}: {rows} rows × {cols} columns", self)
            label.setObjectName("tableLabel")
            copy = action_button(
                "Copy CSV", f"Copy {name.lower()} as CSV", self._bind(self.copy, block)
            )
            save = action_button(
                "Save as CSV…",
                f"Save {name.lower()} as a CSV file",
                self._bind(self.ask_save, block),
            )
            row = QHBoxLayout()
            row.setSpacing(6)
            row.addWidget(label)
            row.addWidget(copy)
            row.addWidget(save)
            row.addStretch(1)
            self._rows.insertLayout(self._rows.count() - 1, row)
            self.copy_buttons.append(copy)
            self.save_buttons.append(save)
        self.setVisible(bool(self.blocks))

    @staticmethod
    def _bind(slot: Callable[[CsvBlock], object], block: CsvBlock) -> Callable[[], None]:
        def call() -> None:  # no arguments, so Qt's `checked` is not passed on
            slot(block)

        return call

    def copy(self, block: CsvBlock) -> None:
        QApplication.clipboard().setText(block.csv_text)
        self._say("Copied as CSV.")

    def ask_save(self, block: CsvBlock) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Save the table as CSV", "table.csv", "CSV files (*.csv);;All files (*)"
        )
        if path:
            self.save(block, Path(path))

    def save(self, block: CsvBlock, path: Path) -> bool:
        if not path.suffix:
            path = path.with_suffix(".csv")
        try:
            save_csv(path, block)
        except StorageError as exc:
            self._say(f"The table was not saved: {exc}")
            return False
        self._say(f"Saved {path.name}.")
        return True

    def _say(self, text: str) -> None:
        self.message.setText(text)
        self.message.show()
