"""Pay the one-time costs of rendering before the first answer streams.

The first code block in a language imports its Pygments lexer, and the first text in
a script (Arabic, Devanagari, Thai, CJK…) and style (bold, italic, code) makes Qt find
and load a fallback font; each can take tens of milliseconds. `RenderWarmUp` renders
small samples off screen, one per event-loop turn, while the model loads, so that
neither the window nor the first streamed answer stalls on them.
"""

from __future__ import annotations

import html
import logging
import time
from collections import deque

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QWidget

from app.ui.markdown.code_warmup import LANGUAGES, CodeWarmUp
from app.ui.markdown.markdown_html import render_markdown
from app.ui.markdown.safe_browser import SafeTextBrowser

log = logging.getLogger(__name__)

SAMPLE = """# Heading

Plain **bold** *italic* `code` [link](https://example.org) > quote

| a | b |
|---|---|
| 1 | 2 |
"""
# The first characters of the Unicode blocks a multilingual model writes in.
SCRIPT_BLOCKS = (
    0x00A0, 0x0100, 0x0180, 0x0250, 0x0370, 0x0400, 0x0530, 0x0590, 0x0600, 0x0750,
    0x0900, 0x0980, 0x0A00, 0x0A80, 0x0B80, 0x0C00, 0x0C80, 0x0D00, 0x0E00, 0x0E80,
    0x10A0, 0x1100, 0x1200, 0x1E00, 0x1F00, 0x2000, 0x2070, 0x20A0, 0x2100, 0x2190,
    0x2200, 0x2300, 0x2500, 0x25A0, 0x2600, 0x2700, 0x3000, 0x3040, 0x30A0, 0x4E00,
    0xAC00, 0xFB50, 0xFE70, 0xFF00, 0xFFFD, 0x1F300, 0x1F600,
)  # fmt: skip
STYLES = ("{}", "<b>{}</b>", "<i>{}</i>", "<code>{}</code>")


def warm_up_pieces() -> list[tuple[bool, str]]:
    """The samples as (is Markdown, source); each renders well within a frame."""
    pieces: list[tuple[bool, str]] = []
    for start in SCRIPT_BLOCKS:
        chars = html.escape("".join(chr(start + offset) for offset in range(2, 34, 3)))
        pieces += [(False, f"<p>{style.format(chars)}</p>") for style in STYLES]
    # Code last: by then the thread of `CodeWarmUp` has imported the lexers, so the main
    # thread neither imports them nor waits on the import lock.
    pieces.append((True, SAMPLE))
    pieces += [(True, f"```{lang}\nx = 1  # note\n```\n") for lang in LANGUAGES]
    return pieces


class RenderWarmUp(QObject):
    """Renders the samples in a hidden view, one per event-loop turn."""

    finished = Signal(float)  # total milliseconds spent rendering

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self._pieces: deque[tuple[bool, str]] = deque()
        self._browser = SafeTextBrowser(parent)
        self._browser.hide()
        self._browser.document().setTextWidth(600)
        self._spent = 0.0
        self._timer = QTimer(self)
        self._timer.setInterval(1)
        self._timer.timeout.connect(self._on_timeout)

        self.code = CodeWarmUp()

    @property
    def running(self) -> bool:
        return self._timer.isActive() or self.code.running

    def start(self) -> None:
        # Lexers and styles load on a thread; the pieces below then find them cached.
        self.code.start()
        # PySide creates QStyle's Python enums on first use (~20 ms); message views
        # re-polish their status tags, so have that happen now.
        self._browser.style().unpolish(self._browser)
        self._browser.style().polish(self._browser)
        self._pieces = deque(warm_up_pieces())
        self._timer.start()

    def _on_timeout(self) -> None:
        if not self._pieces:
            self._timer.stop()
            self.code.join()
            self._browser.clear()
            log.info("rendering warmed up in %.0f ms", self._spent)
            self.finished.emit(self._spent)
            return
        started = time.perf_counter()
        is_markdown, source = self._pieces.popleft()
        self._browser.setHtml(render_markdown(source).html if is_markdown else source)
        self._browser.document().size()  # lays the text out, which loads the fonts
        self._spent += (time.perf_counter() - started) * 1000
