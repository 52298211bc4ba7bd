"""The page viewer: a document's page drawn by PDFium, with the page's text beside it.

A citation in an answer (`[p. 12]`) opens it at that page; Previous and Next walk the
document. A page the answer's request did not carry is marked, since the model cannot
have read it. Text documents have no drawing: their page's text fills the viewer.
"""

from __future__ import annotations

from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QKeySequence, QPixmap, QResizeEvent, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.documents.citations import UNSENT_NOTE, AnswerSources
from app.documents.doc_index import DocumentError, DocumentIndex
from app.documents.pdf import PdfError, PdfFile
from app.ui.look.theme import current_palette

PAGE_WIDTH_PX = 900  # the page is drawn this wide, then shown at the width there is
PAGE_MARGIN_PX = 12


class PageViewer(QDialog):
    """One document's pages, one at a time: the drawing, its text, and where it came from."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("pageViewer")
        self.setWindowTitle("Page")
        self.resize(1080, 760)
        self.doc: DocumentIndex | None = None
        self.page = 0
        self.sources = AnswerSources(())
        self.title = QLabel(self)
        self.title.setObjectName("pageTitle")
        self.note = QLabel(UNSENT_NOTE, self)
        self.note.setObjectName("unsentNote")
        self.note.setToolTip("The answer's request carried other pages of this document.")
        self.note.setStyleSheet(f"color: {current_palette().danger}; font-weight: bold;")
        self.previous_button = QPushButton("‹ Previous", self)
        self.previous_button.clicked.connect(lambda: self.show_page(self.page - 1))
        self.next_button = QPushButton("Next ›", self)
        self.next_button.clicked.connect(lambda: self.show_page(self.page + 1))
        QShortcut(QKeySequence(Qt.Key.Key_PageUp), self, lambda: self.show_page(self.page - 1))
        QShortcut(QKeySequence(Qt.Key.Key_PageDown), self, lambda: self.show_page(self.page + 1))
        self.image = QLabel(self)
        self.image.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.image.setAccessibleName("Page drawing")
        self.image.setWordWrap(True)
        self.image.setMargin(PAGE_MARGIN_PX)
        self.drawn = QPixmap()  # the page as drawn, shown scaled to the area's width
        scroll = QScrollArea(self)
        scroll.setObjectName("pageArea")
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setStyleSheet(f"#pageArea QLabel {{ background: {current_palette().border}; }}")
        scroll.setWidget(self.image)
        self.image_area = scroll
        self.source_label = QLabel(self)
        self.source_label.setObjectName("textSource")
        self.text = QPlainTextEdit(self)
        self.text.setReadOnly(True)
        self.text.setAccessibleName("Page text")
        text_column = QWidget(self)
        column = QVBoxLayout(text_column)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.source_label)
        column.addWidget(self.text, 1)
        self.splitter = QSplitter(self)
        self.splitter.addWidget(scroll)
        self.splitter.addWidget(text_column)
        self.splitter.setSizes([640, 420])
        self.splitter.splitterMoved.connect(lambda *_: self._fit())
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.previous_button)
        top.addWidget(self.next_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.note)
        layout.addWidget(self.splitter, 1)

    def open_page(
        self, doc: DocumentIndex, page: int, sources: AnswerSources | None = None
    ) -> None:
        """Show `page` of `doc`; pages `sources` says were not sent are marked."""
        self.doc = doc
        self.sources = sources or AnswerSources((doc.info.name,))
        self.setWindowTitle(doc.info.name)
        self.show_page(page)

    def show_page(self, page: int) -> None:
        doc = self.doc
        if doc is None:
            return
        page = max(1, min(page, doc.info.page_count))
        self.page = page
        self.title.setText(f"{doc.info.name} — page {page} of {doc.info.page_count}")
        self.previous_button.setEnabled(page > 1)
        self.next_button.setEnabled(page < doc.info.page_count)
        self.note.setVisible(not self.sources.was_sent(doc.info.name, page))
        try:
            text = doc.page_text(page)
        except DocumentError as exc:
            text = str(exc)
        source = doc.page_sources().get(page, "")
        self.source_label.setText(
            {
                "model": "Text read by the model (the page has no text layer)",
                "layer": "Text layer of the page",
            }.get(source, "No text on this page: a scan or a figure")
        )
        self.text.setPlainText(text)
        self._draw(doc, page)

    def _draw(self, doc: DocumentIndex, page: int) -> None:
        if doc.info.kind != "pdf" or doc.source_path is None:
            self.image_area.setVisible(False)
            return
        self.image_area.setVisible(True)
        ratio = self.devicePixelRatioF()
        try:
            with PdfFile(doc.source_path, password=doc.password) as pdf:
                width, height = pdf.page_size(page)
                px = round(PAGE_WIDTH_PX * ratio)
                drawn = pdf.render(page, px, max(1, round(px * height / width)))
        except PdfError as exc:
            self.drawn = QPixmap()
            self.image.setPixmap(QPixmap())
            self.image.setText(f"The page cannot be drawn: {exc}")
            return
        self.drawn = QPixmap.fromImage(_qimage(drawn))
        self.image.setText("")
        self._fit()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        """Show the drawing as wide as the page area (without a sideways scroll bar)."""
        if self.drawn.isNull():
            return
        ratio = self.devicePixelRatioF()
        width = self.image_area.viewport().width() - 2 * PAGE_MARGIN_PX
        pixmap = self.drawn.scaledToWidth(
            max(1, round(width * ratio)), Qt.TransformationMode.SmoothTransformation
        )
        pixmap.setDevicePixelRatio(ratio)
        self.image.setPixmap(pixmap)


def _qimage(image: Image.Image) -> QImage:
    rgb = image.convert("RGB")
    data = rgb.tobytes()
    return QImage(data, rgb.width, rgb.height, 3 * rgb.width, QImage.Format.Format_RGB888).copy()
