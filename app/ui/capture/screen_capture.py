"""*Capture*: the window steps aside, the screen is frozen, the dragged region comes back.

On X11 (and Windows, macOS) the screens are grabbed with ``QScreen.grabWindow(0)`` and shown
in `RegionOverlay`; on Wayland, where apps may not read the screen, the desktop portal is
asked instead (`PortalScreenshot`), and its own chooser picks the region.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, QRect, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import QWidget

from app.ui.capture.desktop_grab import GrabError, grab_desktop
from app.ui.capture.portal_screenshot import PortalScreenshot
from app.ui.capture.region_overlay import RegionOverlay

log = logging.getLogger(__name__)

# Long enough for the window system to take the hidden window off the screen (a compositor
# fades it out) before the screen is read.
STEP_ASIDE_MS = 350
NO_SCREEN_PLATFORMS = {"offscreen", "minimal", "vnc"}


class ScreenCapture(QObject):
    """Runs one capture at a time for `window`; it ends in exactly one of the signals."""

    captured = Signal(QImage)  # the region, in device pixels
    cancelled = Signal()
    failed = Signal(str)  # a sentence saying why there is no picture

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self._window = window
        self.overlay: RegionOverlay | None = None
        self._portal: PortalScreenshot | None = None
        self._busy = False

    @property
    def busy(self) -> bool:
        return self._busy

    def start(self) -> None:
        """Step aside and let the person pick a region (does nothing while one is running)."""
        if self._busy:
            return
        platform = QGuiApplication.platformName()
        if platform in NO_SCREEN_PLATFORMS:
            self.failed.emit(
                f"Capture needs a screen to read; Qt runs here on the {platform} platform, "
                "which has none."
            )
            return
        self._busy = True
        self._window.hide()
        if platform.startswith("wayland"):
            self._portal = PortalScreenshot(self)
            self._portal.taken.connect(self._on_portal_taken)
            self._portal.cancelled.connect(self._on_cancelled)
            self._portal.failed.connect(self._on_failed)
            QTimer.singleShot(STEP_ASIDE_MS, self._portal.request)
        else:
            QTimer.singleShot(STEP_ASIDE_MS, self._grab)

    def _grab(self) -> None:
        try:
            shot = grab_desktop(QGuiApplication.screens())
        except GrabError as exc:
            self._on_failed(f"The screen could not be captured: {exc}")
            return
        self.overlay = RegionOverlay(shot)
        self.overlay.region_chosen.connect(self._on_region_chosen)
        self.overlay.cancelled.connect(self._on_cancelled)
        self.overlay.open()

    def _on_region_chosen(self, region: QRect) -> None:
        assert self.overlay is not None
        image = self.overlay.shot.crop(region)
        self._end()
        self.captured.emit(image)

    def _on_portal_taken(self, image: QImage) -> None:
        self._end()
        self.captured.emit(image)

    def _on_cancelled(self) -> None:
        self._end()
        self.cancelled.emit()

    def _on_failed(self, sentence: str) -> None:
        log.warning("capture failed: %s", sentence)
        self._end()
        self.failed.emit(sentence)

    def _end(self) -> None:
        """Close the overlay and bring the window back where it was."""
        if self.overlay is not None:
            self.overlay.finish()
            self.overlay.deleteLater()
            self.overlay = None
        if self._portal is not None:
            self._portal.deleteLater()
            self._portal = None
        self._busy = False
        self._window.show()
        self._window.raise_()
        self._window.activateWindow()
