"""A window showing one image at full size (scrollable), opened from a thumbnail."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import QDialog, QLabel, QScrollArea, QVBoxLayout, QWidget


class ImageViewer(QDialog):
    """Full-size view of an attached image; Esc closes it."""

    def __init__(self, path: Path | str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        path = Path(path)
        self.setWindowTitle(path.name)
        self.setAccessibleName(f"Image viewer: {path.name}")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        pixmap = QPixmap(str(path))
        label = QLabel(self)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        if pixmap.isNull():
            label.setText(f"{path.name} can no longer be opened (was it moved or deleted?).")
        else:
            label.setPixmap(pixmap)
        label.setAccessibleName(f"{path.name}, {pixmap.width()} × {pixmap.height()} pixels")
        scroll = QScrollArea(self)
        scroll.setWidget(label)
        scroll.setWidgetResizable(True)
        scroll.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scroll)
        screen = self.screen().availableGeometry() if self.screen() else None
        width, height = pixmap.width() + 24, pixmap.height() + 24
        if screen is not None:
            width, height = (
                min(width, int(screen.width() * 0.9)),
                min(height, int(screen.height() * 0.9)),
            )
        self.resize(max(width, 320), max(height, 240))
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self.close)
