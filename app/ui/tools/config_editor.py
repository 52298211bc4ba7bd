"""mcp.json in place: edit, check, save. A text that does not parse is never written.

A mistake is shown with its line and what is wrong (`parse_config`'s sentence) and the
cursor goes to that line; the file on disk stays as it was. A good text is written
atomically, so a crash leaves the old file or the new one.
"""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtGui import QFontDatabase, QTextCursor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.storage.atomic import atomic_write_text
from app.storage.errors import StorageError
from app.tools.config import ConfigError, parse_config

EMPTY_CONFIG = '{\n  "mcpServers": {\n  }\n}\n'
_LINE = re.compile(r"line (\d+)")


class ConfigEditor(QWidget):
    """The text of mcp.json with Save and Revert; `config_saved` carries the new servers."""

    config_saved = Signal(list)  # list[ServerConfig]

    def __init__(self, path: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path = path
        self.setAccessibleName("mcp.json editor")
        self.intro = QLabel(
            f'{path}  —  the standard "mcpServers" object; paste a config from another '
            "app as it is. A server added here does not run until you enable it.",
            self,
        )
        self.intro.setWordWrap(True)
        self.text = QPlainTextEdit(self)
        self.text.setAccessibleName("mcp.json text")
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.message = QLabel(self)
        self.message.setObjectName("configMessage")
        self.message.setAccessibleName("mcp.json message")
        self.message.setWordWrap(True)
        self.save_button = QPushButton("Save", self)
        self.save_button.setAccessibleName("Save mcp.json")
        self.save_button.clicked.connect(self.save)
        self.revert_button = QPushButton("Revert", self)
        self.revert_button.setToolTip("Show the file as it is on disk again")
        self.revert_button.clicked.connect(self.load)
        buttons = QHBoxLayout()
        buttons.addWidget(self.message, 1)
        buttons.addWidget(self.revert_button)
        buttons.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addWidget(self.text, 1)
        layout.addLayout(buttons)

    def load(self) -> None:
        """Show the file as it is (a starting skeleton when there is none yet)."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            text = EMPTY_CONFIG
        except (OSError, UnicodeDecodeError) as exc:
            self._say(f"Could not read {self.path}: {exc}.", problem=True)
            return
        self.text.setPlainText(text)
        self._say("")

    def save(self) -> bool:
        """Check the text and write it; False (with the line and the fault shown) if bad."""
        text = self.text.toPlainText()
        try:
            servers = parse_config(text, self.path.name)
        except ConfigError as exc:
            self._say(f"Not saved: {exc}", problem=True)
            self._go_to_line(str(exc))
            return False
        try:
            atomic_write_text(self.path, text, "save mcp.json")
        except StorageError as exc:
            self._say(f"Not saved: {exc}", problem=True)
            return False
        count = len(servers)
        self._say(f"Saved, {count} server{'' if count == 1 else 's'}.")
        self.config_saved.emit(servers)
        return True

    def _go_to_line(self, message: str) -> None:
        found = _LINE.search(message)
        if found is None:
            return
        block = self.text.document().findBlockByNumber(int(found.group(1)) - 1)
        if block.isValid():
            cursor = QTextCursor(block)
            self.text.setTextCursor(cursor)
            self.text.setFocus()

    def _say(self, text: str, problem: bool = False) -> None:
        self.message.setText(text)
        self.message.setProperty("problem", "true" if problem else "false")
        self.message.style().unpolish(self.message)
        self.message.style().polish(self.message)
