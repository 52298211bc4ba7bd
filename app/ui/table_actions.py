"""Copy and Save-as-CSV buttons for each table or csv block in a finished answer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.documents.csv_blocks import CsvBlock, find_csv_blocks, save_csv
from app.storage.errors import StorageError
from app.ui.message_actions import action_button


class TableActions(QWidget):
    """One row per table in the answer: its size, then Copy CSV and Save as CSV."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Tables in this answer")
        self.blocks: list[CsvBlock] = []
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
        self.blocks = find_csv_blocks(text)
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
