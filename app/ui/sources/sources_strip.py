"""The Sources strip above the message box: the conversation's documents, and indexing.

Each document shows its name, pages, how many have a text layer and, after a question,
which pages went as text and as images. A document is indexed on a pool thread with a
progress bar and Cancel; a second open of the same bytes costs nothing. The documents
themselves live in the session's `DocumentShelf`; this widget only shows and edits it.
A document with scanned pages offers "Read scanned pages" (`ScanReading`); a cited page
opens in the `PageViewer`; an encrypted PDF asks for its password (`password_wanted`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QThreadPool, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.chat.conversation import Conversation
from app.chat.documents import DocumentShelf
from app.chat.session import SessionObserver
from app.documents.citations import AnswerSources
from app.documents.doc_index import DocumentError, DocumentIndex, open_document
from app.documents.doc_plan import DocumentContext
from app.documents.pdf import PdfError, PdfFile, PdfPasswordError
from app.documents.scan_reader import ReadProgress, pages_to_read
from app.ui.background.pool_job import PoolJob
from app.ui.bridge.bridge import WorkerBridge
from app.ui.sources.page_viewer import PageViewer
from app.ui.sources.scan_reading import MAX_NEW_TOKENS, ScanReading


class SourcesWatch(SessionObserver):
    """What the strip hears from the session: pages sent, and another conversation shown."""

    def __init__(self, strip: SourcesStrip) -> None:
        self.strip = strip

    def documents_sent(self, context: DocumentContext) -> None:
        self.strip.show_sent(context)
        self.strip.documents_changed.emit()

    def conversation_replaced(self, conversation: Conversation) -> None:
        # The session reopened its documents (none for a new conversation).
        self.strip.sent_label.clear()

    def documents_changed(self, problems: list[str]) -> None:
        self.strip.refresh()
        for sentence in problems:
            self.strip.attach_failed.emit(sentence)
        self.strip.documents_changed.emit()


class SourcesStrip(QWidget):
    """Documents of the conversation: one row each, plus indexing progress."""

    document_added = Signal(object)  # the DocumentIndex
    documents_changed = Signal()  # added, removed, another conversation's, or pages sent
    attach_failed = Signal(str)  # a sentence for the user
    password_wanted = Signal(str, str)  # path, a sentence (none given yet, or a wrong one)

    def __init__(self, shelf: DocumentShelf, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sourcesStrip")
        self.shelf = shelf
        self.watch = SourcesWatch(self)  # add it to the session's observers
        self._job: PoolJob | None = None
        self._attaching = ""  # the path being indexed
        self._locked = ""  # why the last one wants a password
        self._pool = QThreadPool(self)
        self.engine: WorkerBridge | None = None  # reads scanned pages; set by the window
        self.busy: Callable[[], bool] = lambda: False  # the conversation's answer is written
        self.reading: ScanReading | None = None
        self.scan_tokens = MAX_NEW_TOKENS  # the most a page's transcription may take
        self.viewer: PageViewer | None = None
        self._rows = QVBoxLayout()
        self._rows.setContentsMargins(0, 0, 0, 0)
        self.progress = QProgressBar(self)
        self.progress.setFormat("Indexing %p%")
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.clicked.connect(self.cancel)
        self.sent_label = QLabel(self)
        self.sent_label.setWordWrap(True)
        bar = QHBoxLayout()
        bar.addWidget(self.progress, 1)
        bar.addWidget(self.cancel_button)
        self.scan_progress = QProgressBar(self)
        self.scan_progress.setFormat("Reading scanned pages %v of %m")
        self.scan_label = QLabel(self)
        self.scan_label.setObjectName("scanLabel")
        self.scan_stop_button = QPushButton("Stop", self)
        self.scan_stop_button.setToolTip("Stop reading; the pages read so far are kept")
        self.scan_stop_button.clicked.connect(self.stop_reading)
        scan_bar = QHBoxLayout()
        scan_bar.addWidget(self.scan_progress, 1)
        scan_bar.addWidget(self.scan_label)
        scan_bar.addWidget(self.scan_stop_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 6)
        layout.addLayout(self._rows)
        layout.addLayout(bar)
        layout.addLayout(scan_bar)
        layout.addWidget(self.sent_label)
        self._show_progress(False)
        self._show_reading(False)
        self.password_wanted.connect(self._on_password_wanted)
        self.refresh()

    @property
    def indexing(self) -> bool:
        return self._job is not None

    def attach(self, path: Path | str, password: str | None = None) -> None:
        """Index `path` in the background and add it to the conversation's documents."""
        if self._job is not None:
            self.attach_failed.emit("A document is being indexed; wait for it or cancel it.")
            return

        def work(job: PoolJob) -> DocumentIndex:
            doc = open_document(
                path,
                password=password,
                progress=lambda done, total: job.report((done, total)),
                should_stop=job.should_stop,
            )
            if doc.info.kind == "pdf" and password is None:
                _check_unlocked(doc)  # indexed before, with a password not kept
            try:
                self.shelf.keep(doc)  # copied into the data folder, off the GUI thread
            except DocumentError:
                doc.close()
                raise
            return doc

        self._attaching = str(path)
        job = PoolJob(work, errors=(DocumentError,))
        job.signals.reported.connect(self._on_progress)
        job.signals.succeeded.connect(self._on_indexed)
        job.signals.failed.connect(self._on_failed)
        job.signals.finished.connect(self._on_finished)
        self._job = job
        self.progress.setValue(0)
        self._show_progress(True)
        job.start_on(self._pool)

    def cancel(self) -> None:
        if self._job is not None:
            self._job.stop()

    def read_scans(self, doc: DocumentIndex) -> None:
        """Have the model read `doc`'s pages without a text layer, one page a request."""
        if self.engine is None:
            self.attach_failed.emit("No model is set up to read scanned pages.")
            return
        if self.reading is not None:
            self.attach_failed.emit("Scanned pages are being read; stop that first.")
            return
        reading = ScanReading(
            doc, self.engine, self.shelf.settings, self.busy, self, self.scan_tokens
        )
        reading.progressed.connect(self._on_page_read)
        reading.finished.connect(self._on_reading_finished)
        self.reading = reading
        self.scan_progress.setMaximum(max(1, len(reading.run.todo)))
        self.scan_progress.setValue(0)
        self.scan_label.setText(f"reading page {reading.run.next_page}…")
        self._show_reading(True)
        self.refresh()  # its button is disabled while it reads
        reading.start()

    def stop_reading(self) -> None:
        if self.reading is not None:
            self.reading.stop()

    def open_page(self, name: str, page: int, sources: AnswerSources | None = None) -> None:
        """Show `page` of the attached document `name` in the page viewer."""
        doc = next((d for d in self.shelf.documents if d.info.name == name), None)
        if doc is None:
            self.attach_failed.emit(f"{name} is not attached now; attach it to see page {page}.")
            return
        if self.viewer is None:
            self.viewer = PageViewer(self.window())
        self.viewer.open_page(doc, page, sources)
        self.viewer.show()
        self.viewer.raise_()

    def show_sent(self, context: DocumentContext) -> None:
        self.sent_label.setText(context.summary())

    def refresh(self) -> None:
        while self._rows.count():
            item = self._rows.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        for doc in self.shelf.documents:
            self._rows.addWidget(self._row(doc))
        self.setVisible(bool(self.shelf.documents) or self._job is not None)
        # A document taken away (×, another chat) is closed: stop showing and reading it.
        if self.viewer is not None and self.viewer.doc not in self.shelf.documents:
            self.viewer.doc = None
            self.viewer.close()
        if self.reading is not None and self.reading.doc not in self.shelf.documents:
            self.reading.stop()

    def _row(self, doc: DocumentIndex) -> QWidget:
        info = doc.info
        row = QWidget(self)
        line = QHBoxLayout(row)
        line.setContentsMargins(0, 0, 0, 0)
        label = QLabel(
            f"{info.name} · {info.page_count} pages · {info.text_pages} with a text layer", row
        )
        label.setObjectName("sourceLabel")
        line.addWidget(label, 1)
        unread = len(pages_to_read(doc)) if info.kind == "pdf" and doc.source_path else 0
        if unread:
            read = QPushButton(f"Read scanned pages ({unread})", row)
            read.setObjectName("readScansButton")
            read.setToolTip(
                "Have the model transcribe the pages without a text layer, one page a "
                "request, so that search and questions see their text"
            )
            read.setEnabled(self.reading is None)
            read.clicked.connect(lambda: self.read_scans(doc))
            line.addWidget(read)
        remove = QToolButton(row)
        remove.setText("×")
        remove.setToolTip(f"Stop sending {info.name} with questions")
        remove.clicked.connect(lambda: self._remove(info.sha256))
        line.addWidget(remove)
        return row

    def _remove(self, sha256: str) -> None:
        self.shelf.remove(sha256)
        self.sent_label.clear()
        self.refresh()

    def _show_progress(self, shown: bool) -> None:
        self.progress.setVisible(shown)
        self.cancel_button.setVisible(shown)

    def _on_password_wanted(self, path: str, sentence: str) -> None:
        # The sentence says whether none was given yet or the one given was wrong.
        password, entered = QInputDialog.getText(
            self.window(), "Password", sentence, QLineEdit.EchoMode.Password
        )
        if entered:
            self.attach(path, password)

    def _show_reading(self, shown: bool) -> None:
        for widget in (self.scan_progress, self.scan_label, self.scan_stop_button):
            widget.setVisible(shown)

    def _on_page_read(self, step: object) -> None:
        assert isinstance(step, ReadProgress)
        self.scan_progress.setValue(step.done)
        self.scan_label.setText(step.line())
        self.refresh()  # the count of pages with text grows

    def _on_reading_finished(self, _read: int, sentence: str) -> None:
        self.reading = None
        self._show_reading(False)
        self.refresh()
        self.attach_failed.emit(sentence)

    def _on_progress(self, piece: object) -> None:
        assert isinstance(piece, tuple)
        done, total = int(piece[0]), int(piece[1])
        self.progress.setMaximum(max(1, total))
        self.progress.setValue(done)

    def _on_indexed(self, _key: object, doc: object) -> None:
        assert isinstance(doc, DocumentIndex)
        known = self.shelf.add(doc)
        known.password = known.password or doc.password  # reopened ones come without it
        self.refresh()
        if doc.changed:
            self.attach_failed.emit(f"{doc.info.name} changed since it was indexed; indexed again.")
        self.document_added.emit(known)

    def _on_failed(self, _key: object, error: object) -> None:
        if isinstance(error, DocumentError) and error.password_wanted:
            self._locked = str(error)  # asked once the job has ended (see _on_finished)
            return
        self.attach_failed.emit(str(error))

    def _on_finished(self) -> None:
        self._job = None
        self._show_progress(False)
        self.refresh()
        sentence, self._locked = self._locked, ""
        if sentence:
            self.password_wanted.emit(self._attaching, sentence)


def _check_unlocked(doc: DocumentIndex) -> None:
    """Raise DocumentError(password_wanted) if `doc`'s PDF needs a password to be drawn."""
    if doc.source_path is None:
        return
    try:
        PdfFile(doc.source_path).close()
    except PdfPasswordError as exc:
        doc.close()
        raise DocumentError(str(exc), password_wanted=True) from exc
    except PdfError:
        return  # another fault: the viewer says so when it draws a page
