"""One attached image in the composer: thumbnail with its tile grid, name, size, cost, remove."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from app.documents.tiling import TileGrid
from app.inference.images import ImageFacts
from app.ui.composer.tile_overlay import grid_description, with_tile_grid
from app.ui.images.thumbnails import load_thumbnail

THUMB_PX = 48


def format_bytes(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


class AttachmentChip(QFrame):
    """A removable chip for one attached image (or one page of a PDF)."""

    remove_requested = Signal(str)  # path

    def __init__(
        self,
        facts: ImageFacts,
        grid: TileGrid,
        label: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.facts = facts
        self.grid = grid
        self.path = str(facts.path)
        self.label = label or facts.path.name
        self.setObjectName("attachmentChip")
        name = self.label
        self.facts_text = f"{facts.width} × {facts.height} · {format_bytes(facts.file_bytes)}"
        self.cost_text = grid.label()
        self.setAccessibleName(f"Attached image {name}, {self.facts_text}, {self.cost_text}")
        self.thumb = QLabel(self)
        self.thumb.setFixedSize(THUMB_PX, THUMB_PX)
        self.thumb.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.thumb.setPixmap(with_tile_grid(load_thumbnail(facts.path, THUMB_PX), grid))
        self.thumb.setAccessibleName(f"Thumbnail of {name} with its tile grid")
        description = grid_description(grid)
        self.setToolTip(f"{name}\n{self.facts_text}\n{self.cost_text}\n{description}")
        title = QLabel(_elide(_short_label(name), 24), self)
        title.setObjectName("chipName")
        title.setToolTip(f"{facts.path}\n{description}")
        details = QLabel(f"{facts.width} × {facts.height} · {grid.image_tokens:,} tokens", self)
        details.setObjectName("chipFacts")
        tiles = f"{grid.rows}×{grid.cols} tiles + global" if grid.has_global_view else "1 tile"
        self.cost = QLabel(tiles, self)
        self.cost.setObjectName("chipFacts")
        self.cost.setAccessibleName(f"Token cost of {name}")
        text = QVBoxLayout()
        text.setSpacing(0)
        text.addWidget(title)
        text.addWidget(details)
        text.addWidget(self.cost)
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
        layout.addWidget(self.thumb)
        layout.addLayout(text)
        layout.addWidget(self.remove_button, 0, Qt.AlignmentFlag.AlignTop)

    def _on_remove_clicked(self) -> None:
        self.remove_requested.emit(self.path)


def _short_label(label: str) -> str:
    """A PDF page label, page first ("p. 3 · report.pdf"), so eliding keeps the page."""
    name, sep, page = label.rpartition(", page ")
    return f"p. {page} · {name}" if sep and page.isdigit() else label


def _elide(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
