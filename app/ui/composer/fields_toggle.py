"""The composer's Fields toggle: the next question is answered as fields, shown as a table."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QToolButton, QWidget

from app.structured.request import StructuredRequest
from app.ui.structured.fields_dialog import FieldsDialog

OFF_TEXT = "{ }  Fields"


class FieldsToggle(QToolButton):
    """Checked: the fields chosen in its dialog go with the next question (`take`)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("fieldsToggle")
        self.setCheckable(True)
        self.setText(OFF_TEXT)
        self.setAccessibleName("Answer as fields")
        self.setToolTip("Answer the next question as fields (JSON checked against them), a table")
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.dialog = FieldsDialog(self)
        self.dialog.accepted.connect(self._on_dialog_accepted)
        self.dialog.rejected.connect(self._on_dialog_rejected)
        self.request: StructuredRequest | None = None
        self.toggled.connect(self._on_toggled)

    def take(self) -> StructuredRequest | None:
        """The fields for the question being sent, if on; the toggle turns off."""
        request = self.request if self.isChecked() else None
        self.setChecked(False)
        return request

    def _on_toggled(self, checked: bool) -> None:
        if checked and self.request is None:
            self.dialog.open()
        elif not checked:
            self.request = None
            self.setText(OFF_TEXT)

    def _on_dialog_accepted(self) -> None:
        self.request = self.dialog.request
        if self.request is not None:
            names = list(self.request.schema.get("properties", {}))
            shown = ", ".join(names[:4]) + ("…" if len(names) > 4 else "")
            self.setText(f"{{ }}  Fields: {shown}" if names else "{ }  JSON")
        self.setChecked(self.request is not None)

    def _on_dialog_rejected(self) -> None:
        if self.request is None:
            self.setChecked(False)
