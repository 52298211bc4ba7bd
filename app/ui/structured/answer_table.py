"""A structured answer shown as a table, with Copy CSV."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.structured.table import csv_text, table


class AnswerTable(QWidget):
    """The fields of one answer as columns; Copy CSV puts them on the clipboard."""

    def __init__(self, value: Any, note: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Structured answer")
        self.header, self.rows = table(value)
        self.table = QTableWidget(len(self.rows), len(self.header), self)
        self.table.setHorizontalHeaderLabels(self.header)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        for r, row in enumerate(self.rows):
            for c, text in enumerate(row):
                self.table.setItem(r, c, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        height = self.table.horizontalHeader().height() + 2
        height += sum(self.table.rowHeight(r) for r in range(len(self.rows)))
        self.table.setFixedHeight(min(height + 4, 320))
        self.copy_button = QPushButton("Copy CSV", self)
        self.copy_button.setAccessibleName("Copy the table as CSV")
        self.copy_button.clicked.connect(self.copy_csv)
        self.note = QLabel(note, self)  # checked; "not constrained" where the engine could not
        self.note.setWordWrap(True)
        bar = QHBoxLayout()
        bar.addWidget(self.note, 1)
        bar.addWidget(self.copy_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 4)
        layout.addWidget(self.table)
        layout.addLayout(bar)

    def csv(self) -> str:
        return csv_text(self.header, self.rows)

    def copy_csv(self) -> None:
        QApplication.clipboard().setText(self.csv())
