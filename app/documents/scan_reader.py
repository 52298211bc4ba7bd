"""Reading scanned pages with the model: one page a request, kept in the document's index.

A page without a text layer (a scan, a photographed page) is invisible to search and
retrieval until something reads it. The model can: each thin page is drawn, sent with
`TRANSCRIBE_PROMPT`, and the answer is stored as the page's text (source "model"), so it
is searched and sent like any other page's. Pages already read are skipped, so a stopped
run resumes where it stopped. The engine is any callable that answers one page.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from app.documents.doc_index import DocumentIndex
from app.documents.pdf import ShouldStop

TRANSCRIBE_PROMPT = (
    "Transcribe all the text on this page, in reading order, as plain text. Describe "
    "figures and charts in one sentence each, in square brackets. Output nothing else."
)

AskPage = Callable[[int], str]  # page number -> the model's transcription


@dataclass(frozen=True)
class ReadProgress:
    """Where a run stands: pages read in this run, still to read, and a time estimate."""

    page: int
    done: int
    total: int
    seconds_left: float | None  # None until one page has been timed

    def line(self) -> str:
        left = "" if self.seconds_left is None else f", about {_duration(self.seconds_left)} left"
        return f"read page {self.page} ({self.done} of {self.total}{left})"


def pages_to_read(doc: DocumentIndex) -> list[int]:
    """Thin pages that nothing has read yet (a page read by the model is not read again)."""
    sources = doc.page_sources()
    return [n for n in doc.thin_pages() if sources.get(n) != "model"]


class ScanRun:
    """One run over a document's unread thin pages, a page at a time.

    For a front end that asks the model without waiting (the window): it takes
    `next_page`, asks, and hands the answer to `page_read`, which stores it and says
    where the run stands. Stopping is simply not asking for the next page.
    """

    def __init__(self, doc: DocumentIndex, clock: Callable[[], float] = time.monotonic) -> None:
        self.doc = doc
        self.todo = pages_to_read(doc)
        self.done = 0
        self._clock = clock
        self._started = clock()

    @property
    def next_page(self) -> int | None:
        return self.todo[self.done] if self.done < len(self.todo) else None

    def page_read(self, number: int, text: str) -> ReadProgress:
        """Keep the model's `text` as page `number`'s (the page `next_page` named)."""
        if number != self.next_page:
            raise ValueError(f"page {number} is not the page being read ({self.next_page})")
        self.doc.set_page_text(number, text.strip(), source="model")
        self.done += 1
        per_page = (self._clock() - self._started) / self.done
        left = len(self.todo) - self.done
        return ReadProgress(number, self.done, len(self.todo), per_page * left)


def read_scanned_pages(
    doc: DocumentIndex,
    ask_page: AskPage,
    *,
    progress: Callable[[ReadProgress], None] = lambda _p: None,
    should_stop: ShouldStop = lambda: False,
) -> int:
    """Read every unread thin page of `doc` with `ask_page`; return how many were read."""
    run = ScanRun(doc)
    while (number := run.next_page) is not None:
        if should_stop():
            break
        progress(run.page_read(number, ask_page(number)))
    return run.done


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
