"""The field editor: the fields an answer must have (name, type, description), or a schema.

One tab lists fields, a row each, as `app.structured.fields` names them; the other takes
a pasted JSON Schema (or a saved field list). `request()` turns either into the bounded
`StructuredRequest` an engine is asked with, or raises `SchemaError` with a sentence,
which the editor also shows under the fields. Save writes the field-list file that
`maverick-desk ask --schema` and `batch --schema` read; Open reads it or a JSON Schema.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.storage.atomic import atomic_write_text
from app.storage.errors import StorageError
from app.structured.fields import (
    FIELD_TYPES,
    FIELDS_FORMAT,
    Field,
    fields_from_json,
    fields_to_json,
    fields_to_schema,
    schema_to_fields,
)
from app.structured.request import MAX_SCHEMA_BYTES, StructuredRequest, from_document
from app.structured.schema import SchemaError

NAME, TYPE, DESCRIPTION, CHOICES = range(4)
FIELDS_TAB, SCHEMA_TAB = range(2)


class FieldEditor(QWidget):
    """Fields or a pasted JSON Schema; `request()` is what an answer is asked with."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Answer fields")
        self.tabs = QTabWidget(self)
        self.table = QTableWidget(0, 4, self)
        self.table.setHorizontalHeaderLabels(["Name", "Type", "Description", "Choices (one-of)"])
        self.table.setAccessibleName("Fields")
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(DESCRIPTION, QHeaderView.ResizeMode.Stretch)
        self.add_button = QPushButton("Add field", self)
        self.add_button.clicked.connect(lambda: self.add_field(Field("", "text")))
        self.remove_button = QPushButton("Remove field", self)
        self.remove_button.clicked.connect(self._on_remove_clicked)
        page = QWidget(self)
        self.open_button = QPushButton("Open…", self)
        self.open_button.clicked.connect(self._on_open_clicked)
        self.save_button = QPushButton("Save…", self)
        self.save_button.setToolTip("Save the fields for `maverick-desk batch --schema FILE`")
        self.save_button.clicked.connect(self._on_save_clicked)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.save_button)
        column = QVBoxLayout(page)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.table)
        column.addLayout(buttons)
        self.schema_text = QPlainTextEdit(self)
        self.schema_text.setAccessibleName("JSON Schema")
        self.schema_text.setPlaceholderText(
            'Paste a JSON Schema, e.g. {"type": "object", "properties": {"title": '
            '{"type": "string"}}, "required": ["title"]}, or a saved field list.'
        )
        self.tabs.addTab(page, "Fields")
        self.tabs.addTab(self.schema_text, "JSON Schema")
        self.problem = QLabel(self)
        self.problem.setObjectName("fieldProblem")
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color: #c0392b;")
        self.problem.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tabs)
        layout.addWidget(self.problem)

    # ------------------------------------------------------------ fields
    def add_field(self, item: Field) -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        self.table.setItem(row, NAME, QTableWidgetItem(item.name))
        kind = QComboBox(self.table)
        kind.addItems(list(FIELD_TYPES))
        kind.setCurrentText(item.type)
        kind.setAccessibleName("Field type")
        self.table.setCellWidget(row, TYPE, kind)
        self.table.setItem(row, DESCRIPTION, QTableWidgetItem(item.description))
        self.table.setItem(row, CHOICES, QTableWidgetItem(", ".join(item.choices)))

    def set_fields(self, fields: list[Field]) -> None:
        self.table.setRowCount(0)
        for item in fields:
            self.add_field(item)
        self.tabs.setCurrentIndex(FIELDS_TAB)

    def fields(self) -> list[Field]:
        """The rows as typed (not checked: `request` checks them)."""
        found = []
        for row in range(self.table.rowCount()):
            kind = self.table.cellWidget(row, TYPE)
            assert isinstance(kind, QComboBox)
            choices = tuple(c.strip() for c in self._text(row, CHOICES).split(",") if c.strip())
            found.append(
                Field(
                    self._text(row, NAME).strip(),
                    kind.currentText(),
                    self._text(row, DESCRIPTION).strip(),
                    choices if kind.currentText() == "one-of" else (),
                )
            )
        return found

    def set_schema(self, schema: dict[str, object]) -> None:
        """Show a schema as fields where it has their shape, else as JSON."""
        try:
            self.set_fields(schema_to_fields(dict(schema)))
        except SchemaError:
            self.schema_text.setPlainText(json.dumps(schema, indent=2, ensure_ascii=False))
            self.tabs.setCurrentIndex(SCHEMA_TAB)

    # ------------------------------------------------------------ files
    def save(self, path: Path) -> None:
        """Write the fields as a field-list file; `SchemaError` or `StorageError` if it cannot."""
        atomic_write_text(path, fields_to_json(self.fields()), "save the fields")

    def open(self, path: Path) -> None:
        """Show a field-list file or a JSON Schema; `SchemaError` with a sentence if neither."""
        try:
            if path.stat().st_size > MAX_SCHEMA_BYTES:
                raise SchemaError(f"{path.name} is larger than {MAX_SCHEMA_BYTES:,} bytes.")
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise SchemaError(f"{path.name} cannot be read ({exc}).") from None
        except json.JSONDecodeError as exc:
            raise SchemaError(f"{path.name} is not JSON: {exc.msg} at line {exc.lineno}.") from None
        if isinstance(document, dict) and document.get("format") == FIELDS_FORMAT:
            self.set_fields(fields_from_json(document))
        elif isinstance(document, dict):
            self.set_schema(document)
        else:
            raise SchemaError(f"{path.name} is not a JSON Schema or a field list.")

    def _on_open_clicked(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Open fields or a JSON Schema", "", "*.json")
        if name:
            self._report(lambda: self.open(Path(name)))

    def _on_save_clicked(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self, "Save the fields", "fields.json", "*.json")
        if name:
            self._report(lambda: self.save(Path(name)))

    def _report(self, action: Callable[[], None]) -> None:
        try:
            action()
        except (SchemaError, StorageError) as exc:
            self.problem.setText(str(exc))
            self.problem.show()
            return
        self.problem.hide()

    # ------------------------------------------------------------ the request
    def request(self) -> StructuredRequest:
        """The bounded schema and its token budget; `SchemaError` (also shown) if wrong."""
        try:
            request = self._request()
        except SchemaError as exc:
            self.problem.setText(str(exc))
            self.problem.show()
            raise
        self.problem.hide()
        return request

    def _request(self) -> StructuredRequest:
        if self.tabs.currentIndex() == FIELDS_TAB:
            return from_document(fields_to_schema(self.fields()))
        text = self.schema_text.toPlainText().strip()
        if not text:
            raise SchemaError("Paste a JSON Schema first, or describe the fields in Fields.")
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SchemaError(
                f"The schema is not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
            ) from None
        return from_document(document)

    def _text(self, row: int, column: int) -> str:
        item = self.table.item(row, column)
        return item.text() if item is not None else ""

    def _on_remove_clicked(self) -> None:
        rows = sorted({index.row() for index in self.table.selectedIndexes()}, reverse=True)
        for row in rows or [self.table.rowCount() - 1]:
            if row >= 0:
                self.table.removeRow(row)
