"""A read-only rich-text view for untrusted HTML that sizes itself to its content.

It never loads anything: `loadResource` refuses every URL (and remembers what was
asked, so a test can prove nothing was), links do not navigate, and a click on a link
is reported through `link_clicked` only for web/mail addresses and page citations
(`cite:` links, which open a document's page in the app); Copy links copy code.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QFrame, QSizePolicy, QTextBrowser, QWidget

from app.documents.citations import CITE_SCHEME
from app.ui.look.theme import document_style_sheet
from app.ui.markdown.markdown_html import COPY_CODE_SCHEME, is_safe_link

log = logging.getLogger(__name__)


class SafeTextBrowser(QTextBrowser):
    """Shows one piece of a message; grows to fit instead of scrolling."""

    link_clicked = Signal(QUrl)  # an http(s)/mailto or cite: link the user clicked
    copy_code_requested = Signal(int)  # the index of a code block whose Copy was clicked

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.resource_requests: list[str] = []
        self._html = ""
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.setSearchPaths([])
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(self._never())
        self.setHorizontalScrollBarPolicy(self._never())
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setAcceptDrops(False)  # drops go to the window, which attaches images
        self.viewport().setAutoFillBackground(False)
        self.setStyleSheet("QTextBrowser { background: transparent; }")
        document = self.document()
        document.setDocumentMargin(0)
        document.setDefaultStyleSheet(document_style_sheet())
        document.documentLayout().documentSizeChanged.connect(self._on_document_size_changed)
        self.anchorClicked.connect(self._on_anchor_clicked)
        self.setFixedHeight(0)

    def setHtml(self, text: str) -> None:  # noqa: N802 (Qt override)
        self._html = text
        super().setHtml(text)

    def restyle(self) -> None:
        """Show the same HTML again under the current theme's style sheet."""
        self.document().setDefaultStyleSheet(document_style_sheet())
        super().setHtml(self._html)

    @staticmethod
    def _never() -> Any:
        from PySide6.QtCore import Qt

        return Qt.ScrollBarPolicy.ScrollBarAlwaysOff

    def loadResource(self, kind: int, url: QUrl | str) -> Any:  # noqa: N802 (Qt override)
        """Refuse every resource: model output must not reach the network or the disk."""
        self.resource_requests.append(url.toString() if isinstance(url, QUrl) else str(url))
        log.warning("refused to load a resource from rendered text: %s", url)
        return None

    def setSource(self, *args: Any, **kwargs: Any) -> None:  # noqa: N802 (Qt override)
        """Never navigate: links are handled by `_on_anchor_clicked`."""
        log.warning("refused to navigate the transcript to %s", args[:1])

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 (Qt override)
        # The view never scrolls itself; let the transcript scroll.
        event.ignore()

    def _on_document_size_changed(self, size: Any) -> None:
        height = math.ceil(size.height()) + 2 * self.frameWidth()
        if height != self.height():
            self.setFixedHeight(height)

    def _on_anchor_clicked(self, url: QUrl) -> None:
        text = url.toString()
        if url.scheme() == COPY_CODE_SCHEME:
            try:
                self.copy_code_requested.emit(int(url.path()))
            except ValueError:
                log.warning("malformed copy link %s", text)
            return
        if is_safe_link(text) or url.scheme() == CITE_SCHEME:
            self.link_clicked.emit(url)
            return
        log.warning("ignored a click on an unsafe link: %s", text[:200])
