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


def read_scanned_pages(
    doc: DocumentIndex,
    ask_page: AskPage,
    *,
    progress: Callable[[ReadProgress], None] = lambda _p: None,
    should_stop: ShouldStop = lambda: False,
) -> int:
    """Read every unread thin page of `doc` with `ask_page`; return how many were read."""
    todo = pages_to_read(doc)
    started = time.monotonic()
    for done, number in enumerate(todo, start=1):
        if should_stop():
            return done - 1
        text = ask_page(number).strip()
        doc.set_page_text(number, text, source="model")
        per_page = (time.monotonic() - started) / done
        progress(ReadProgress(number, done, len(todo), per_page * (len(todo) - done)))
    return len(todo)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
