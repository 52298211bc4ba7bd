"""The Sources strip above the message box: the conversation's documents, and indexing.

Each document shows its name, pages, how many have a text layer and, after a question,
which pages went as text and as images. A document is indexed on a pool thread with a
progress bar and Cancel; a second open of the same bytes costs nothing. The documents
themselves live in the session's `DocumentShelf`; this widget only shows and edits it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QThreadPool, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.chat.conversation import Conversation
from app.chat.documents import DocumentShelf
from app.chat.session import SessionObserver
from app.documents.doc_index import DocumentError, DocumentIndex, open_document
from app.documents.doc_plan import DocumentContext
from app.ui.background.pool_job import PoolJob


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

    def __init__(self, shelf: DocumentShelf, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sourcesStrip")
        self.shelf = shelf
        self.watch = SourcesWatch(self)  # add it to the session's observers
        self._job: PoolJob | None = None
        self._pool = QThreadPool(self)
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
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 6)
        layout.addLayout(self._rows)
        layout.addLayout(bar)
        layout.addWidget(self.sent_label)
        self._show_progress(False)
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
            try:
                self.shelf.keep(doc)  # copied into the data folder, off the GUI thread
            except DocumentError:
                doc.close()
                raise
            return doc

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

    def _row(self, doc: DocumentIndex) -> QWidget:
        info = doc.info
        row = QWidget(self)
        line = QHBoxLayout(row)
        line.setContentsMargins(0, 0, 0, 0)
        label = QLabel(
            f"{info.name} · {info.page_count} pages · {info.text_pages} with a text layer", row
        )
        label.setObjectName("sourceLabel")
        remove = QToolButton(row)
        remove.setText("×")
        remove.setToolTip(f"Stop sending {info.name} with questions")
        remove.clicked.connect(lambda: self._remove(info.sha256))
        line.addWidget(label, 1)
        line.addWidget(remove)
        return row

    def _remove(self, sha256: str) -> None:
        self.shelf.remove(sha256)
        self.sent_label.clear()
        self.refresh()

    def _show_progress(self, shown: bool) -> None:
        self.progress.setVisible(shown)
        self.cancel_button.setVisible(shown)

    def _on_progress(self, piece: object) -> None:
        assert isinstance(piece, tuple)
        done, total = int(piece[0]), int(piece[1])
        self.progress.setMaximum(max(1, total))
        self.progress.setValue(done)

    def _on_indexed(self, _key: object, doc: object) -> None:
        assert isinstance(doc, DocumentIndex)
        known = self.shelf.add(doc)
        self.refresh()
        if doc.changed:
            self.attach_failed.emit(f"{doc.info.name} changed since it was indexed; indexed again.")
        self.document_added.emit(known)

    def _on_failed(self, _key: object, error: object) -> None:
        self.attach_failed.emit(str(error))

    def _on_finished(self) -> None:
        self._job = None
        self._show_progress(False)
        self.refresh()
