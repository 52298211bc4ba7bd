"""Help > About: the versions a bug report needs, with a Copy button."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.paths import log_dir
from app.ui.help.about_info import about_rows, about_text
from app.workers import protocol as p


class AboutDialog(QDialog):
    """Shows `about_rows`; refreshed with `set_ready` when the model loads."""

    def __init__(self, ready: p.Ready | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About Maverick Desk")
        self.setAccessibleName("About Maverick Desk")
        self.setObjectName("aboutDialog")
        self._ready = ready
        title = QLabel("Maverick Desk", self)
        title.setObjectName("aboutTitle")
        blurb = QLabel("A desktop app for multimodal chat with Llama 4 Maverick.", self)
        blurb.setWordWrap(True)
        self.details = QLabel(self)
        self.details.setObjectName("aboutDetails")
        self.details.setAccessibleName("Versions and devices")
        self.details.setTextFormat(Qt.TextFormat.RichText)
        self.details.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.copy_button = QPushButton("Copy", self)
        self.copy_button.setAccessibleName("Copy the versions for a bug report")
        self.copy_button.clicked.connect(self._on_copy_clicked)
        self.logs_button = QPushButton("Open log folder", self)
        self.logs_button.setAccessibleName("Open the folder with the log files")
        self.logs_button.clicked.connect(open_log_folder)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.logs_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 18, 20, 14)
        layout.setSpacing(10)
        layout.addWidget(title)
        layout.addWidget(blurb)
        layout.addWidget(self.details)
        layout.addWidget(buttons)
        self.set_ready(ready)
        self.copy_button.setFocus()

    def set_ready(self, ready: p.Ready | None) -> None:
        self._ready = ready
        cells = "".join(
            f"<tr><td style='padding-right:14px'><b>{html.escape(label)}</b></td>"
            f"<td>{html.escape(value)}</td></tr>"
            for label, value in about_rows(ready)
        )
        self.details.setText(f"<table cellspacing='2'>{cells}</table>")

    def text(self) -> str:
        return about_text(self._ready)

    def _on_copy_clicked(self) -> None:
        QApplication.clipboard().setText(self.text())
        self.copy_button.setText("Copied")


def open_log_folder() -> bool:
    """Show the log folder in the file manager (created if it is not there yet)."""
    folder = log_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))
