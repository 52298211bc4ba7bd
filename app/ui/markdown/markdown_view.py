"""An assistant's answer, rendered from Markdown while it streams.

The answer is split (by `MarkdownStream`) into finished blocks and a live tail. Finished
blocks go into segment views that are filled once and then left alone; only the tail
view is re-rendered, and at most about 30 times a second, so the cost of a frame does
not grow with the length of the answer. An event-loop turn renders one finished block
or the tail, never both: when blocks finish (a whole answer set at once, or a burst of
tokens) they are rendered one per turn, then the tail, so no single turn blocks the
window for long.
"""

from __future__ import annotations

import time
from collections import deque

from PySide6.QtCore import QTimer, QUrl, Signal
from PySide6.QtWidgets import QApplication, QVBoxLayout, QWidget

from app.ui.look.theme import current_palette
from app.ui.markdown.markdown_html import FindCitations, HighlightJob, highlight_jobs
from app.ui.markdown.markdown_stream import MarkdownStream
from app.ui.markdown.render_budget import render_block, tail_delay_ms, too_large_to_format
from app.ui.markdown.safe_browser import SafeTextBrowser

FRAME_MS = 33  # about 30 renders a second at most
SEGMENT_CHARS = 400  # Markdown source per finished segment before a new one starts
HIGHLIGHT_SLICE_S = 0.004  # a finished code block is highlighted this long a turn


class MarkdownView(QWidget):
    """Shows Markdown that may still be arriving."""

    link_clicked = Signal(QUrl)
    code_copied = Signal(int)  # index of the code block copied to the clipboard
    rendered = Signal(float)  # milliseconds the last render took (for the benchmark)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(0)
        self._stream = MarkdownStream()
        self._closed = False
        self._segments: list[SafeTextBrowser] = []
        self._open_html: list[str] = []  # HTML of the finished blocks in the last segment
        self._open_chars = 0
        self._code_blocks: list[str] = []  # code of the finished blocks
        self._tail_code: list[str] = []
        self._tail_source: str | None = None  # what the tail view shows now
        self._backlog: deque[str] = deque()  # finished blocks not rendered yet
        self._jobs: deque[HighlightJob] = deque()  # the first finished block's code
        self._jobs_block: str | None = None  # the block those jobs are for
        self._tail_ms = 0.0  # how long drawing the tail took last time
        self.citations: FindCitations | None = None  # page citations to link, if any
        self._tail = self._new_browser()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(FRAME_MS)
        self._timer.timeout.connect(self._render)

    # ------------------------------------------------------------ API
    @property
    def text(self) -> str:
        return self._stream.text

    def append(self, text: str) -> None:
        """Add streamed text; it shows within one frame."""
        self._stream.append(text)
        self._schedule(tail_delay_ms(FRAME_MS, self._tail_ms))

    def set_text(self, text: str) -> None:
        """Show a whole answer at once (replacing what was there)."""
        self.clear()
        self._stream.append(text)
        self.finish()

    def finish(self) -> None:
        """The answer is complete: what is pending, tail included, renders as final."""
        self._stream.close()
        self._closed = True
        self._schedule(0)

    @property
    def settled(self) -> bool:
        """Whether everything received so far is on screen."""
        return not self._timer.isActive() and not self._backlog

    def clear(self) -> None:
        self._timer.stop()
        for browser in [*self._segments, self._tail]:
            self._layout.removeWidget(browser)
            browser.deleteLater()
        self._segments = []
        self._open_html = []
        self._open_chars = 0
        self._code_blocks = []
        self._tail_code = []
        self._tail_source = None
        self._backlog.clear()
        self._jobs.clear()
        self._jobs_block = None
        self._stream = MarkdownStream()
        self._closed = False
        self._tail = self._new_browser()

    def restyle(self) -> None:
        """Render everything again in the current theme (code colours are inline)."""
        text, closed = self._stream.text, self._closed
        self.clear()
        self._stream.append(text)
        if closed:
            self.finish()
        else:
            self._schedule(0)

    def browsers(self) -> list[SafeTextBrowser]:
        """Every view showing part of the answer, in order."""
        return [*self._segments, self._tail]

    def code_block(self, index: int) -> str:
        blocks = self._code_blocks + self._tail_code
        return blocks[index]

    def plain_text(self) -> str:
        """What the user sees, as text."""
        return "\n".join(b.toPlainText() for b in self.browsers() if b.toPlainText())

    # ------------------------------------------------------------ rendering
    def _schedule(self, delay_ms: int) -> None:
        if self._timer.isActive() and self._timer.remainingTime() <= delay_ms:
            return
        self._timer.start(delay_ms)

    def _render(self) -> None:
        started = time.perf_counter()
        self._backlog.extend(self._stream.take_finished())
        if self._backlog:
            # One piece of work a turn: this block now, the tail on the next turn, so the
            # event loop runs in between. Until then the tail does not paint, so it never
            # shows text that is already in a finished block.
            self._tail.setUpdatesEnabled(False)
            if not self._highlight_first():
                self._add_finished(self._backlog.popleft())
            self._schedule(0)
            self.rendered.emit((time.perf_counter() - started) * 1000)
            return
        tail = self._stream.tail
        if tail != self._tail_source:
            tail_started = time.perf_counter()
            self._tail_source = tail
            rendered = (
                render_block(tail, len(self._code_blocks), self._code_style(), True, self.citations)
                if tail.strip()
                else None
            )
            self._tail_code = rendered.code_blocks if rendered else []
            self._tail.setHtml(rendered.html if rendered else "")
            self._tail.setVisible(rendered is not None)
            self._tail_ms = (time.perf_counter() - tail_started) * 1000
        if not self._tail.updatesEnabled():
            self._tail.setUpdatesEnabled(True)
        self.rendered.emit((time.perf_counter() - started) * 1000)

    def _highlight_first(self) -> bool:
        """Highlight the first finished block's code, a slice a turn, before it renders.

        Returns whether this turn did some of that (then the block waits a turn).
        """
        block = self._backlog[0]
        if self._jobs_block is not block:
            self._jobs_block = block
            fenced = ("```" in block or "~~~" in block) and not too_large_to_format(block)
            self._jobs = deque(highlight_jobs(block, self._code_style()) if fenced else [])
        if not self._jobs:
            return False
        if self._jobs[0].step(HIGHLIGHT_SLICE_S):
            self._jobs.popleft()
        return True

    @staticmethod
    def _code_style() -> str:
        return current_palette().code_style

    def _add_finished(self, block: str) -> None:
        rendered = render_block(
            block, len(self._code_blocks), self._code_style(), citations=self.citations
        )
        self._code_blocks.extend(rendered.code_blocks)
        if not self._segments or self._open_chars >= SEGMENT_CHARS:
            segment = self._new_browser(before_tail=True)
            self._segments.append(segment)
            self._open_html = []
            self._open_chars = 0
        self._open_html.append(rendered.html)
        self._open_chars += len(block)
        self._segments[-1].setHtml("".join(self._open_html))

    def _new_browser(self, before_tail: bool = False) -> SafeTextBrowser:
        browser = SafeTextBrowser(self)
        browser.link_clicked.connect(self.link_clicked)
        browser.copy_code_requested.connect(self._on_copy_code_requested)
        if before_tail:
            self._layout.insertWidget(self._layout.count() - 1, browser)
        else:
            self._layout.addWidget(browser)
        return browser

    def _on_copy_code_requested(self, index: int) -> None:
        try:
            code = self.code_block(index)
        except IndexError:
            return
        QApplication.clipboard().setText(code)
        self.code_copied.emit(index)
