"""A clickable thumbnail of an image in a message; a click opens the full-size viewer."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QToolButton, QWidget

from app.ui.images.image_viewer import ImageViewer
from app.ui.images.thumbnails import load_thumbnail

THUMB_PX = 112


class ThumbnailButton(QToolButton):
    """A thumbnail that opens the image at full size when pressed."""

    def __init__(self, path: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path = Path(path)
        pixmap = load_thumbnail(self.path, THUMB_PX)
        if pixmap.isNull():
            self.setText(f"{self.path.name}\n(missing)")
        else:
            self.setIcon(pixmap)
            self.setIconSize(pixmap.size())
            self.setFixedSize(pixmap.size() + QSize(6, 6))
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip(f"{self.path.name} — click to view full size")
        self.setAccessibleName(f"Image {self.path.name}; press to view full size")
        self.setStyleSheet(
            "QToolButton { border: 1px solid #d8dee4; border-radius: 8px; background: white; }"
            "QToolButton:focus { border: 2px solid #5b4bdb; }"
        )
        self.clicked.connect(self._on_clicked)

    def _on_clicked(self) -> None:
        ImageViewer(self.path, self.window()).show()
