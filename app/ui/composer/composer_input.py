"""The text box of the composer: Enter sends, Shift+Enter breaks the line, images paste in."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QImage, QKeyEvent
from PySide6.QtWidgets import QPlainTextEdit, QWidget

MAX_LINES_SHOWN = 8


def local_files(mime: QMimeData) -> list[str]:
    """The local file paths in dragged or pasted data."""
    if not mime.hasUrls():
        return []
    return [url.toLocalFile() for url in mime.urls() if url.isLocalFile()]


def attachable(mime: QMimeData) -> list[str] | QImage | None:
    """What dropped or pasted data attaches: local files, else image data, else nothing.

    The one rule for drops on the window, drops on the message box and pastes.
    """
    files = local_files(mime)
    if files:
        return files
    image = mime.imageData() if mime.hasImage() else None
    return image if isinstance(image, QImage) and not image.isNull() else None


class ComposerInput(QPlainTextEdit):
    """The multi-line message box; hands dropped or pasted images to the composer."""

    send_requested = Signal()
    files_received = Signal(list)  # paths, from a drop or a paste of copied files
    image_pasted = Signal(QImage)  # image data from the clipboard

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("composerInput")
        self.setAccessibleName("Message")
        self.setAccessibleDescription("Type a question. Enter sends, Shift+Enter adds a line.")
        self.setPlaceholderText(
            "Ask about your images…  (Enter to send, Shift+Enter for a new line)"
        )
        self.setTabChangesFocus(True)
        self.document().setDocumentMargin(4)
        self.textChanged.connect(self._on_text_changed)
        self._on_text_changed()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt override)
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            modifiers = event.modifiers()
            if modifiers & Qt.KeyboardModifier.ShiftModifier:
                self.insertPlainText("\n")
                return
            self.send_requested.emit()
            return
        super().keyPressEvent(event)

    # ------------------------------------------------------------ paste
    def canInsertFromMimeData(self, source: QMimeData) -> bool:  # noqa: N802 (Qt override)
        return attachable(source) is not None or super().canInsertFromMimeData(source)

    def insertFromMimeData(self, source: QMimeData) -> None:  # noqa: N802 (Qt override)
        if not self.attach(source):
            super().insertFromMimeData(source)

    def attach(self, source: QMimeData) -> bool:
        """Hand files or image data on (`files_received`, `image_pasted`); False if none."""
        found = attachable(source)
        if isinstance(found, list):
            self.files_received.emit(found)
        elif found is not None:
            self.image_pasted.emit(found)
        return found is not None

    # ------------------------------------------------------------ drops
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 (Qt override)
        if attachable(event.mimeData()) is not None:
            event.acceptProposedAction()
            return
        super().dragEnterEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 (Qt override)
        if self.attach(event.mimeData()):
            event.acceptProposedAction()
            return
        super().dropEvent(event)

    def _on_text_changed(self) -> None:
        lines = max(1, min(MAX_LINES_SHOWN, int(self.document().size().height())))
        line_height = self.fontMetrics().lineSpacing()
        self.setFixedHeight(lines * line_height + 14)
