"""Reading a document's scanned pages with the window's engine, one page a request.

`ScanReading` drives a `ScanRun` (app.documents.scan_reader) over the bridge: it draws
the next unread thin page for the model's tiles, asks the model to transcribe it, keeps
the answer in the document's index and goes on. It waits while the conversation's own
answer is being written (one request at a time is the engine's pace anyway), can be
stopped between or during pages, and a new run resumes where the last one stopped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal

from app.chat.vocabulary import Sampling
from app.documents.doc_index import DocumentError, DocumentIndex
from app.documents.page_cache import render_pages
from app.documents.pdf import PdfError, PdfFile
from app.documents.scan_reader import TRANSCRIBE_PROMPT, ScanRun
from app.documents.tiling import ProcessorSettings, TilingError
from app.storage.errors import StorageError
from app.ui.bridge.bridge import WorkerBridge
from app.workers import protocol as p

log = logging.getLogger(__name__)

MAX_NEW_TOKENS = 768  # about a dense page of text
BUSY_RETRY_MS = 400  # how often to look whether the conversation's answer has ended


class ScanReading(QObject):
    """One run of "Read scanned pages" over one document."""

    progressed = Signal(object)  # ReadProgress, after each page kept
    finished = Signal(int, str)  # pages read in this run, a sentence for the user

    def __init__(
        self,
        doc: DocumentIndex,
        engine: WorkerBridge,
        settings: ProcessorSettings,
        busy: Callable[[], bool] = lambda: False,
        parent: QObject | None = None,
        max_new_tokens: int = MAX_NEW_TOKENS,
    ) -> None:
        super().__init__(parent)
        self.max_new_tokens = max_new_tokens
        self.doc = doc
        self.engine = engine
        self.settings = settings
        self.busy = busy  # True while the conversation's answer is being written
        self.run = ScanRun(doc)
        self.request_id: str | None = None
        self._page = 0
        self._pieces: list[str] = []
        self._stopping = False
        self._ended = False
        engine.token_received.connect(self._on_token_received)
        engine.generation_finished.connect(self._on_generation_finished)
        engine.generation_failed.connect(self._on_generation_failed)
        engine.generation_cancelled.connect(self._on_generation_cancelled)
        engine.worker_died.connect(self._on_worker_died)

    @property
    def running(self) -> bool:
        return not self._ended

    def start(self) -> None:
        self._ask_next()

    def stop(self) -> None:
        """Stop after keeping what was read; the page being read is dropped."""
        self._stopping = True
        if self.request_id is not None:
            self.engine.cancel(self.request_id)  # ends in _on_generation_cancelled
        else:
            self._end(self._stopped_sentence())

    def _ask_next(self) -> None:
        if self._ended:
            return
        if self._stopping:
            self._end(self._stopped_sentence())
            return
        number = self.run.next_page
        if number is None:
            name = self.doc.info.name
            self._end(f"{name}: {pages(self.run.done)} read; search and questions now see them.")
            return
        if self.busy():
            QTimer.singleShot(BUSY_RETRY_MS, self._ask_next)
            return
        source = self.doc.source_path
        if source is None:
            self._end(f"{self.doc.info.name} has no pages to draw.")
            return
        try:
            with PdfFile(source, password=self.doc.password) as pdf:
                image = next(iter(render_pages(pdf, [number], self.settings)))
        except (PdfError, TilingError, StorageError) as exc:
            self._end(f"Page {number} could not be drawn for the model: {exc}")
            return
        self._page = number
        self._pieces = []
        turn = p.ChatTurn("user", TRANSCRIBE_PROMPT, [str(image.image)])
        self.request_id = self.engine.generate(
            [turn], Sampling(max_new_tokens=self.max_new_tokens, temperature=0.0)
        )

    def _on_token_received(self, request_id: str, text: str) -> None:
        if request_id == self.request_id:
            self._pieces.append(text)

    def _on_generation_finished(self, done: object) -> None:
        if not isinstance(done, p.Done) or done.request_id != self.request_id:
            return
        self.request_id = None
        if self._stopping:  # the document may be closed already: keep nothing more
            self._end(self._stopped_sentence())
            return
        try:
            step = self.run.page_read(self._page, "".join(self._pieces))
        except DocumentError as exc:
            self._end(f"The text of page {self._page} could not be kept: {exc}")
            return
        self.progressed.emit(step)
        self._ask_next()

    def _on_generation_failed(self, request_id: str, sentence: str) -> None:
        if request_id == self.request_id:
            self.request_id = None
            self._end(f"Reading page {self._page} failed: {sentence} {self._kept()}")

    def _on_generation_cancelled(self, request_id: str, _tokens: int) -> None:
        if request_id == self.request_id:
            self.request_id = None
            self._end(self._stopped_sentence())

    def _on_worker_died(self, _code: object, sentence: str) -> None:
        if self.request_id is not None:
            self.request_id = None
            self._end(f"{sentence} {self._kept()}")

    def _stopped_sentence(self) -> str:
        return f"Reading scanned pages stopped. {self._kept()}"

    def _kept(self) -> str:
        return f"Pages read so far: {self.run.done}, kept; Read scanned pages goes on from there."

    def _end(self, sentence: str) -> None:
        if self._ended:
            return
        self._ended = True
        for signal, slot in (
            (self.engine.token_received, self._on_token_received),
            (self.engine.generation_finished, self._on_generation_finished),
            (self.engine.generation_failed, self._on_generation_failed),
            (self.engine.generation_cancelled, self._on_generation_cancelled),
            (self.engine.worker_died, self._on_worker_died),
        ):
            signal.disconnect(slot)
        log.info("scan reading of %s ended: %s", self.doc.info.name, sentence)
        self.finished.emit(self.run.done, sentence)


def pages(count: int) -> str:
    return f"{count} page" if count == 1 else f"{count} pages"
