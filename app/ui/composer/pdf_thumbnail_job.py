"""Drawing a PDF's page thumbnails in a background thread, one signal per page.

PDFium calls hold a process-wide lock (see `app.documents.pdf`), so the job opens its
own copy of the document and the GUI thread never waits on a page being drawn. The
job checks its stop flag between pages; the dialog sets it and waits when it closes.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QObject, QRunnable, Signal
from PySide6.QtGui import QImage

from app.documents.pdf import PdfError, PdfFile

log = logging.getLogger(__name__)


class ThumbnailSignals(QObject):
    """What the job reports; connected to the dialog across threads (queued)."""

    thumbnail_drawn = Signal(int, QImage)  # page number, picture
    failed = Signal(str)  # a sentence for the user
    finished = Signal()


def to_qimage(image: Image.Image) -> QImage:
    """An RGB Pillow image as a QImage that owns its pixels."""
    rgb = image.convert("RGB")
    data = rgb.tobytes()
    return QImage(data, rgb.width, rgb.height, 3 * rgb.width, QImage.Format.Format_RGB888).copy()


class ThumbnailJob(QRunnable):
    """Draws the thumbnails of `pages` of a PDF, in order, until done or stopped."""

    def __init__(self, path: Path, password: str | None, pages: list[int], max_side: int) -> None:
        super().__init__()
        self.setAutoDelete(False)  # the dialog owns it and reads `signals` after it ran
        self.signals = ThumbnailSignals()
        self._path = path
        self._password = password
        self._pages = pages
        self._max_side = max_side
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        try:
            with PdfFile(self._path, self._password) as pdf:
                for number, image in pdf.thumbnails(
                    self._pages, self._max_side, should_stop=self._stop.is_set
                ):
                    self.signals.thumbnail_drawn.emit(number, to_qimage(image))
        except PdfError as exc:
            log.warning("thumbnails of %s stopped: %s", self._path, exc)
            self.signals.failed.emit(str(exc))
        finally:
            self.signals.finished.emit()
