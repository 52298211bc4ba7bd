"""A tool's result in the transcript: a header line, the text folded away, image thumbnails.

An error is shown open, with the server's message; a result's text is folded to one line
until the user opens it. Images are the files the window wrote them to; a click on a
thumbnail opens the full-size viewer.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.ui.images.thumbnail_button import ThumbnailButton

PREVIEW_CHARS = 90
MAX_TEXT_HEIGHT_PX = 260


class ToolResultView(QFrame):
    """One tool result: `toggle` folds or opens its text; `thumbnails` are its images."""

    def __init__(
        self,
        tool: str,
        server: str,
        text: str,
        images: list[str],
        is_error: bool,
        how: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.text = text
        self.is_error = is_error
        self.setObjectName("toolResult")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        place = f" of {server}" if server else ""
        what = "failed" if is_error else "returned"
        self.setAccessibleName(f"Result of the tool {tool}{place}")
        self.header = QLabel(f"<b>{_escape(tool)}</b>{_escape(place)} {what}{_escape(how)}", self)
        self.header.setWordWrap(True)
        self.preview = QLabel(_preview(text), self)
        self.preview.setObjectName("toolResultPreview")
        self.preview.setTextFormat(Qt.TextFormat.PlainText)  # a tool's text is data, never HTML
        self.preview.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.toggle = QToolButton(self)
        self.toggle.setCheckable(True)
        self.toggle.setAccessibleName("Show or hide the tool's result")
        self.toggle.toggled.connect(self._on_toggled)
        self.body = QPlainTextEdit(text, self)
        self.body.setObjectName("toolResultText")
        self.body.setReadOnly(True)
        self.body.setAccessibleName("The tool's result")
        self.body.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        lines = text.count("\n") + 1
        self.body.setFixedHeight(min(lines * 18 + 14, MAX_TEXT_HEIGHT_PX))
        if is_error:
            self.header.setStyleSheet("color: #b42318;")

        self.thumbnails = [ThumbnailButton(path, self) for path in images]
        row = QHBoxLayout()
        row.setSpacing(6)
        row.addWidget(self.header, 1)
        row.addWidget(self.toggle)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.setSpacing(4)
        layout.addLayout(row)
        layout.addWidget(self.preview)
        layout.addWidget(self.body)
        if self.thumbnails:
            strip = QHBoxLayout()
            strip.setSpacing(6)
            for thumbnail in self.thumbnails:
                strip.addWidget(thumbnail)
            strip.addStretch(1)
            layout.addLayout(strip)
        self.toggle.setVisible(bool(text))
        self.toggle.setChecked(is_error and bool(text))
        self._on_toggled(self.toggle.isChecked())

    @property
    def expanded(self) -> bool:
        return self.body.isVisibleTo(self)

    def _on_toggled(self, open_: bool) -> None:
        self.body.setVisible(open_ and bool(self.text))
        self.preview.setVisible(not open_ and bool(self.text))
        self.toggle.setText("Hide" if open_ else "Show")
        self.toggle.setArrowType(Qt.ArrowType.DownArrow if open_ else Qt.ArrowType.RightArrow)
        self.toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)


def _preview(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= PREVIEW_CHARS else line[:PREVIEW_CHARS] + "…"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
