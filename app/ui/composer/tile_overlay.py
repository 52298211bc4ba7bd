"""The processor's tile grid drawn over an image's thumbnail: what the model will see."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen, QPixmap

from app.documents.tiling import TileGrid

GRID_COLOUR = QColor(91, 75, 219)  # the theme's accent


def with_tile_grid(pixmap: QPixmap, grid: TileGrid) -> QPixmap:
    """A copy of `pixmap` (a thumbnail of the whole image) with the tiles outlined.

    Tiles that cover only padding fall outside the picture and are not drawn; a single
    tile gets a plain frame. The global view is not drawn: it is the whole image.
    """
    if pixmap.isNull():
        return pixmap
    result = QPixmap(pixmap)
    sx = pixmap.width() / grid.image_width
    sy = pixmap.height() / grid.image_height
    painter = QPainter(result)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        pen = QPen(GRID_COLOUR)
        pen.setWidth(1)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for left, top, right, bottom in grid.tile_boxes():
            if right - left < 0.5 or bottom - top < 0.5:
                continue
            rect = QRectF(left * sx, top * sy, (right - left) * sx, (bottom - top) * sy)
            painter.drawRect(rect.adjusted(0, 0, -1, -1))
    finally:
        painter.end()
    return result


def grid_description(grid: TileGrid) -> str:
    """For a tooltip: the grid, the global view and the token cost, in words."""
    if grid.has_global_view:
        tiles = (
            f"{grid.rows} row{'s' if grid.rows > 1 else ''} × {grid.cols} column"
            f"{'s' if grid.cols > 1 else ''} of {grid.tile_size} px tiles, plus a global view "
            "of the whole image"
        )
    else:
        tiles = f"one {grid.tile_size} px tile"
    return f"The model sees {tiles}: {grid.image_tokens:,} tokens."
