"""The field editor in a dialog: OK only once the fields (or the schema) can be used."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from app.structured.fields import Field
from app.structured.request import StructuredRequest
from app.structured.schema import SchemaError
from app.ui.structured.field_editor import FieldEditor


class FieldsDialog(QDialog):
    """Describe the fields of the next answer; `request` holds them once accepted."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Answer as fields")
        self.resize(640, 360)
        self.request: StructuredRequest | None = None
        self.editor = FieldEditor(self)
        self.editor.set_fields([Field("title", "text", "what it is")])
        hint = QLabel(
            "The answer will be JSON with exactly these fields, shown as a table. Each field "
            "has a type; a one-of field lists its choices, separated by commas.",
            self,
        )
        hint.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(hint)
        layout.addWidget(self.editor)
        layout.addWidget(self.buttons)

    def accept(self) -> None:
        try:
            self.request = self.editor.request()  # shows what is wrong, and stays open
        except SchemaError:
            return
        super().accept()
