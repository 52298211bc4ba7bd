"""Copy and Save-as-CSV buttons for each table or csv block in a finished answer.

The answer is searched block by block as it streams (`TableFinder`), so when it ends
only its tail is left to parse. What is left is parsed on a pool thread when it is long
(a table of thousands of rows takes markdown-it seconds), so finishing an answer never
blocks the window. (A pool thread is not the default: it holds the GIL while it parses,
and the window's thread then waits for it in slices of 5 ms.)
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QThreadPool
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.documents.csv_blocks import CsvBlock, save_csv
from app.storage.errors import StorageError
from app.ui.background.pool_job import PoolJob
from app.ui.transcript.message_actions import action_button
from app.ui.transcript.table_finder import TableFinder, candidate_blocks, find_tables

BACKGROUND_CHARS = 20_000  # left to parse past this many characters: off the GUI thread


class TableActions(QWidget):
    """One row per table in the answer: its size, then Copy CSV and Save as CSV."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Tables in this answer")
        self.blocks: list[CsvBlock] = []
        self._finder = TableFinder()
        self._found_first: list[CsvBlock] = []  # found while streaming, before a pool job
        self._job: PoolJob | None = None
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

    def append(self, text: str) -> None:
        """More of a streaming answer: the blocks it finishes are searched now."""
        self._finder.append(text)

    def set_markdown(self, text: str) -> None:
        """The answer is `text`, complete: show a row of buttons for each table in it."""
        if text == self._finder.text:
            found, left = self._finder.found, self._finder.close()
        else:  # not streamed here (a saved answer, an edit)
            found, left = [], candidate_blocks(text)
        if sum(len(block) for _, block in left) <= BACKGROUND_CHARS:
            self._show_blocks(found + find_tables(left))
            return
        self._found_first = found
        self._job = PoolJob(lambda _job: find_tables(left))
        # A bound method, which Qt disconnects if this widget is deleted before the job ends.
        self._job.signals.succeeded.connect(self._on_found)
        self._job.start_on(QThreadPool.globalInstance())

    @property
    def searching(self) -> bool:
        """A long answer is still being searched for tables."""
        return self._job is not None

    def _on_found(self, _key: object, blocks: list[CsvBlock]) -> None:
        self._show_blocks(self._found_first + blocks)

    def _show_blocks(self, blocks: list[CsvBlock]) -> None:
        self._job = None
        self.blocks = sorted(blocks, key=lambda block: block.first_line)
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
