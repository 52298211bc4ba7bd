"""Documents attached to a chat: what of them each question sends, decided per answer.

A `DocumentShelf` holds the indexed documents of a conversation (`app.documents.doc_index`).
When an answer starts, the session asks it to fit them into the request: all their text
with page markers when it fits `budget()` tokens, else the pages that rank best for the
question and the recent questions (`app.documents.doc_plan`). The block goes into the
system turn, before the conversation, so that a follow-up question over a document that
fits reuses the prompt cache; thin pages (figures, scans) go as images with the question,
drawn for the model's tiles, up to the image limit. `last` keeps what the latest answer
was sent, for its citations (`app.documents.citations`).

The budget is the engine's context (`context_length`: the local model's, the server's or
the hosted preset's, from its Ready message) less the conversation, its images, the room
kept for the answer and a margin (`document_budget` in app.documents.doc_plan, which
`ask --doc` and batch jobs use too); its default only while the context is not known.
The shelf's documents are the conversation's (`refs`, saved with it): `load` reopens
them from the data folder, and `changed` is called whenever they change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from app.chat.vocabulary import DocumentRef
from app.documents.doc_index import DocumentError, DocumentIndex, open_document, open_stored
from app.documents.doc_plan import (
    CountTokens,
    DocumentContext,
    approximate_tokens,
    document_budget,
    draw_image_pages,
    plan_documents,
)
from app.documents.pdf import ShouldStop
from app.documents.tiling import MAVERICK, ProcessorSettings
from app.paths import data_dir
from app.storage.document_files import DocumentFiles
from app.storage.errors import StorageError
from app.workers import protocol as p


class DocumentShelf:
    """The documents of one conversation."""

    def __init__(self) -> None:
        self.documents: list[DocumentIndex] = []
        # Kept with the conversation but not opened (missing, damaged): still saved.
        self.unavailable: list[DocumentRef] = []
        self.context_length = 0  # the engine's context in tokens; 0 while unknown
        self.answer_tokens: Callable[[], int] = lambda: 1024  # room kept for the answer
        # A fixed budget (tests, scripts); None: from the engine's context.
        self.budget: Callable[[], int] | None = None
        self.count_tokens: CountTokens = approximate_tokens
        self.image_limit: Callable[[], int] = lambda: 5
        self.settings: ProcessorSettings = MAVERICK  # the tiles pages are drawn for
        self.last: DocumentContext | None = None
        self.changed: Callable[[], None] = lambda: None  # documents added or removed
        # Where attached files are copied (the store's documents/files in the data folder).
        self.files = DocumentFiles(data_dir() / "documents" / "files")

    def refs(self) -> list[DocumentRef]:
        """The conversation's documents as saved: open ones, then those that could not be."""
        opened = [
            DocumentRef(d.info.sha256, d.info.name, str(d.source_path or d.path))
            for d in self.documents
        ]
        return [*opened, *self.unavailable]

    def load(self, refs: list[DocumentRef]) -> list[str]:
        """Show another conversation's documents; returns a sentence for each not opened.

        Documents already open (the same conversation shown again) stay open.
        """
        wanted = {ref.sha256 for ref in refs}
        for doc in [d for d in self.documents if d.info.sha256 not in wanted]:
            self.documents.remove(doc)
            doc.close()
        self.unavailable = []
        self.last = None
        problems = []
        opened = {d.info.sha256: d for d in self.documents}
        documents = []
        for ref in refs:
            if ref.sha256 in opened:
                documents.append(opened[ref.sha256])
                continue
            try:
                documents.append(open_stored(ref.path, ref.sha256, ref.name))
            except DocumentError as exc:
                self.unavailable.append(ref)
                problems.append(str(exc))
        self.documents = documents
        return problems

    def expected_tokens(self, turns: list[p.ChatTurn]) -> int:
        """About how many tokens the documents' text adds to the next request of `turns`.

        All their text when it fits the budget, else the budget (the best pages fill it).
        """
        if not self.documents:
            return 0
        marker = approximate_tokens("[name p. 100]\n")
        whole = sum(d.info.chars // 4 + d.info.page_count * marker for d in self.documents)
        return min(whole, self.budget_for(turns, 0))

    def meter_share(self, turns: list[p.ChatTurn]) -> tuple[int, str]:
        """For the context meter: the documents' tokens, and what the last question sent."""
        return self.expected_tokens(turns), self.last.summary() if self.last else ""

    def budget_for(self, turns: list[p.ChatTurn], images: int) -> int:
        """Tokens of document text for a request of `turns` with `images` more images."""
        if self.budget is not None:
            return self.budget()
        text = sum(self.count_tokens(turn.text) for turn in turns)
        thin = sum(len(doc.thin_pages()) for doc in self.documents)  # pages that may go drawn
        pictures = sum(len(turn.images) for turn in turns) + min(images, thin)
        return document_budget(self.context_length, text, pictures, self.answer_tokens())

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
        try:
            self.keep(doc)
        except DocumentError:
            doc.close()
            raise
        return self.add(doc)

    def keep(self, doc: DocumentIndex) -> None:
        """Copy the document's file into the data folder, where it stays with the conversation.

        From then on its pages are drawn from the copy, so the original may move or change.
        Safe on a pool thread (it touches files only). Raises `DocumentError` with a sentence.
        """
        if doc.source_path is None:
            return
        try:
            stored, _ = self.files.add_file(doc.source_path, doc.info.sha256, doc.info.name)
        except StorageError as exc:
            raise DocumentError(str(exc)) from exc
        doc.source_path = stored

    def add(self, doc: DocumentIndex) -> DocumentIndex:
        """Add an opened index (indexed elsewhere, e.g. on a pool thread); once per content.

        A file changed on disk since it was indexed (`doc.changed`) replaces the document
        of the same name: the new bytes are the ones asked from then on.
        """
        for known in self.documents:
            if known.info.sha256 == doc.info.sha256:
                doc.close()
                return known
        replaced = [d for d in self.documents if doc.changed and d.info.name == doc.info.name]
        at = self.documents.index(replaced[0]) if replaced else len(self.documents)
        for old in replaced:
            self.documents.remove(old)
            old.close()
        self.unavailable = [r for r in self.unavailable if r.sha256 != doc.info.sha256]
        self.documents.insert(at, doc)
        self.changed()
        return doc

    def remove(self, sha256: str) -> None:
        """Stop sending a document (it leaves the conversation's saved documents too)."""
        for doc in [d for d in self.documents if d.info.sha256 == sha256]:
            self.documents.remove(doc)
            doc.close()
        self.unavailable = [r for r in self.unavailable if r.sha256 != sha256]
        self.changed()

    def close(self) -> None:
        for doc in self.documents:
            doc.close()
        self.documents.clear()
        self.unavailable = []

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
            budget_tokens=self.budget_for(turns, limit),
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
