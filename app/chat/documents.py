"""Documents attached to a chat: what of them each question sends, decided per answer.

A `DocumentShelf` holds the indexed documents of a conversation (`app.documents.doc_index`).
When an answer starts, the session asks it to fit them into the request: all their text
with page markers when it fits `budget()` tokens, else the pages that rank best for the
question and the recent questions (`app.documents.doc_plan`). The block goes into the
system turn, before the conversation, so that a follow-up question over a document that
fits reuses the prompt cache; thin pages (figures, scans) go as images with the question,
drawn for the model's tiles, up to the image limit. `last` keeps what the latest answer
was sent, for its citations (`app.documents.citations`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from app.documents.doc_index import DocumentIndex, open_document
from app.documents.doc_plan import (
    CountTokens,
    DocumentContext,
    approximate_tokens,
    draw_image_pages,
    plan_documents,
)
from app.documents.pdf import ShouldStop
from app.documents.tiling import MAVERICK, ProcessorSettings
from app.workers import protocol as p

DEFAULT_BUDGET = 100_000  # tokens of document text when the front end does not say


class DocumentShelf:
    """The documents of one conversation."""

    def __init__(self) -> None:
        self.documents: list[DocumentIndex] = []
        self.budget: Callable[[], int] = lambda: DEFAULT_BUDGET
        self.count_tokens: CountTokens = approximate_tokens
        self.image_limit: Callable[[], int] = lambda: 5
        self.settings: ProcessorSettings = MAVERICK  # the tiles pages are drawn for
        self.last: DocumentContext | None = None

    def attach(
        self,
        path: Path | str,
        *,
        password: str | None = None,
        progress: Callable[[int, int], None] | None = None,
        should_stop: ShouldStop = lambda: False,
    ) -> DocumentIndex:
        """Index (or reopen) a document and add it; raises `DocumentError` with a sentence."""
        doc = open_document(path, password=password, progress=progress, should_stop=should_stop)
        return self.add(doc)

    def add(self, doc: DocumentIndex) -> DocumentIndex:
        """Add an opened index (indexed elsewhere, e.g. on a pool thread); once per content."""
        for known in self.documents:
            if known.info.sha256 == doc.info.sha256:
                doc.close()
                return known
        self.documents.append(doc)
        return doc

    def remove(self, sha256: str) -> None:
        for doc in [d for d in self.documents if d.info.sha256 == sha256]:
            self.documents.remove(doc)
            doc.close()

    def close(self) -> None:
        for doc in self.documents:
            doc.close()
        self.documents.clear()

    def apply(self, turns: list[p.ChatTurn]) -> list[p.ChatTurn]:
        """`turns` with the documents' part added (unchanged when there are none)."""
        if not self.documents or not turns:
            self.last = None
            return turns
        questions = [turn.text for turn in turns if turn.role == "user"]
        asking = turns[-1]
        limit = max(0, self.image_limit() - len(asking.images))
        plan = plan_documents(
            self.documents,
            questions[-1] if questions else "",
            budget_tokens=self.budget(),
            recent_turns=questions[:-1],
            count_tokens=self.count_tokens,
            image_limit=limit,
        )
        self.last = plan
        turns = list(turns)
        if turns[0].role == "system":
            turns[0] = replace(turns[0], text=f"{turns[0].text}\n\n{plan.text}")
        else:
            turns.insert(0, p.ChatTurn("system", plan.text))
        pictures = draw_image_pages(self.documents, plan, self.settings)
        if pictures:
            turns[-1] = replace(asking, images=[*asking.images, *pictures])
        return turns
