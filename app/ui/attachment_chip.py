"""One attached image in the composer: thumbnail, name, pixel size, file size, remove."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from app.inference.images import ImageFacts
from app.ui.thumbnails import load_thumbnail

THUMB_PX = 40


def format_bytes(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


class AttachmentChip(QFrame):
    """A removable chip for one attached image."""

    remove_requested = Signal(str)  # path

    def __init__(self, facts: ImageFacts, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.facts = facts
        self.path = str(facts.path)
        self.setObjectName("attachmentChip")
        name = facts.path.name
        self.facts_text = f"{facts.width} × {facts.height} · {format_bytes(facts.file_bytes)}"
        self.setAccessibleName(f"Attached image {name}, {self.facts_text}")
        thumb = QLabel(self)
        thumb.setFixedSize(THUMB_PX, THUMB_PX)
        thumb.setAlignment(Qt.AlignmentFlag.AlignCenter)
        thumb.setPixmap(load_thumbnail(facts.path, THUMB_PX))
        thumb.setAccessibleName(f"Thumbnail of {name}")
        title = QLabel(_elide(name, 22), self)
        title.setObjectName("chipName")
        title.setToolTip(str(facts.path))
        details = QLabel(self.facts_text, self)
        details.setObjectName("chipFacts")
        text = QVBoxLayout()
        text.setSpacing(0)
        text.addWidget(title)
        text.addWidget(details)
        self.remove_button = QToolButton(self)
        self.remove_button.setObjectName("chipRemove")
        self.remove_button.setText("✕")
        self.remove_button.setFixedSize(18, 18)
        self.remove_button.setAccessibleName(f"Remove {name}")
        self.remove_button.setToolTip(f"Remove {name}")
        self.remove_button.clicked.connect(self._on_remove_clicked)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(5, 5, 6, 5)
        layout.setSpacing(8)
        layout.addWidget(thumb)
        layout.addLayout(text)
        layout.addWidget(self.remove_button, 0, Qt.AlignmentFlag.AlignTop)

    def _on_remove_clicked(self) -> None:
        self.remove_requested.emit(self.path)


def _elide(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
