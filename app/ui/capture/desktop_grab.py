"""The whole desktop as one picture: every screen grabbed and placed where it lies.

Screens are laid out in the virtual desktop's logical coordinates; the picture is drawn at
the largest device pixel ratio among them, so a HiDPI screen keeps its every pixel (a
lower-density screen beside it is scaled up to match).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import QRect, QRectF
from PySide6.QtGui import QColor, QImage, QPainter, QScreen


class GrabError(RuntimeError):
    """The screen could not be read."""


@dataclass(frozen=True)
class DesktopShot:
    """A frozen desktop: `image` covers `geometry` (logical pixels) at `scale` pixels each."""

    image: QImage
    geometry: QRect
    scale: float

    def crop(self, region: QRect) -> QImage:
        """The part of the picture under `region`, given in logical desktop coordinates."""
        area = region.intersected(self.geometry)
        if area.isEmpty():
            return QImage()
        left = round((area.x() - self.geometry.x()) * self.scale)
        top = round((area.y() - self.geometry.y()) * self.scale)
        width = round(area.width() * self.scale)
        height = round(area.height() * self.scale)
        part = self.image.copy(left, top, width, height)
        part.setDevicePixelRatio(1.0)  # an attachment is pixels, not a widget's picture
        return part


def grab_desktop(screens: Sequence[QScreen]) -> DesktopShot:
    """Grab every screen (``QScreen.grabWindow(0)``) into one picture of the virtual desktop."""
    if not screens:
        raise GrabError("there is no screen to capture.")
    geometry = QRect()
    for screen in screens:
        geometry = geometry.united(screen.geometry())
    scale = max(screen.devicePixelRatio() for screen in screens)
    image = QImage(
        round(geometry.width() * scale),
        round(geometry.height() * scale),
        QImage.Format.Format_RGB32,
    )
    image.fill(QColor("black"))  # gaps between screens of different sizes
    painter = QPainter(image)
    try:
        for screen in screens:
            picture = screen.grabWindow(0)
            if picture.isNull():
                raise GrabError(f"the screen {screen.name() or '?'} could not be read.")
            place = screen.geometry().translated(-geometry.topLeft())
            target = QRectF(
                place.x() * scale, place.y() * scale, place.width() * scale, place.height() * scale
            )
            painter.drawPixmap(target, picture, QRectF(picture.rect()))
    finally:
        painter.end()
    return DesktopShot(image, geometry, scale)
