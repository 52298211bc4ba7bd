"""Drawing the picked pages of a PDF at full size for the model, in a background thread."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, Signal

from app.documents.attachments import text_layer_block
from app.documents.page_cache import render_pages
from app.documents.pdf import PdfError, PdfFile
from app.documents.tiling import ProcessorSettings
from app.storage.errors import StorageError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DrawnPage:
    """A page drawn for the model: the PNG the worker opens, and the page's label."""

    image: Path
    label: str  # "report.pdf, page 2"
    text_layer: str  # the block put before the question ("" unless asked for)


class RenderSignals(QObject):
    """What the job reports; connected to the composer across threads (queued)."""

    pages_drawn = Signal(list)  # DrawnPage, in page order
    failed = Signal(str)  # a sentence for the user


class PageRenderJob(QRunnable):
    """Draws `pages` of a PDF at the size the processor's tiles want (cached as PNGs)."""

    def __init__(
        self,
        path: Path,
        password: str | None,
        pages: list[int],
        settings: ProcessorSettings,
        text_layer: bool,
    ) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.signals = RenderSignals()
        self._path = path
        self._password = password
        self._pages = pages
        self._settings = settings
        self._text_layer = text_layer
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        drawn: list[DrawnPage] = []
        try:
            with PdfFile(self._path, self._password) as pdf:
                for page in render_pages(
                    pdf, self._pages, self._settings, should_stop=self._stop.is_set
                ):
                    label = f"{self._path.name}, page {page.page_number}"
                    text = (
                        text_layer_block(label, pdf.text(page.page_number))
                        if self._text_layer
                        else ""
                    )
                    drawn.append(DrawnPage(page.image, label, text))
        except (PdfError, StorageError) as exc:
            log.warning("pages of %s not drawn: %s", self._path, exc)
            self.signals.failed.emit(f"Not attached: {exc}")
            return
        if not self._stop.is_set():
            self.signals.pages_drawn.emit(drawn)
