"""A batch item that is a whole PDF: its text, whole or the best pages, and its thin pages.

As ``ask --doc`` does: when the document's text fits what the model's context leaves after
the question and the answer, it goes whole with ``[p. N]`` markers; otherwise the pages
that rank best for the question, with their neighbours. Pages whose text layer is thin
(figures, scans) go as images, up to the image limit. The PDF is read from the job's
store (its copy by content hash), so a moved folder does not matter.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from app.batch.jobs import Item, Job
from app.batch.runner import ItemFailed
from app.documents.context import ContextError, ContextMeter
from app.documents.doc_index import DocumentError, open_stored
from app.documents.doc_plan import (
    approximate_tokens,
    document_budget,
    draw_image_pages,
    plan_documents,
)
from app.documents.pdf import PdfError, PdfPasswordError
from app.documents.tiling import MAVERICK, TilingError
from app.storage.errors import StorageError
from app.workers import protocol as p

IMAGE_LIMIT = 5  # page images a request, as the worker loads by default


class DocumentTurns:
    """Makes the user turn of whole-document items; share one across a run's threads.

    The checkpoint's tokenizer (to count tokens and learn the context) is read once, on
    the first document asked. An encrypted PDF's thin pages are drawn with the run's
    password; without it (or with a wrong one) the item fails with the PDF's sentence.
    """

    def __init__(self, password: str | None = None) -> None:
        """`password`: an encrypted PDF's, to draw its pages (in memory only, never saved)."""
        self.password = password
        self._lock = threading.Lock()
        self._meters: dict[str, ContextMeter | None] = {}

    def turn(self, job: Job, item: Item, question: str) -> p.ChatTurn:
        """The document's text before `question`, and its thin pages as images.

        Raises `ItemFailed` with a sentence when the document cannot be used.
        """
        assert item.document is not None
        meter = self._meter(job.settings)
        count = meter.count_text if meter else approximate_tokens
        budget = _budget(job.settings, meter, count(question))
        if budget < 1:
            raise ItemFailed(
                "The question and the answer's length leave no room for the document in the "
                "model's context; ask for a shorter answer."
            )
        copy = Path(item.document)
        if not copy.is_file():
            raise ItemFailed(
                f"The job's copy of {item.label} is missing ({copy}); add {item.source} to a "
                "new job."
            )
        try:
            doc = open_stored(copy, copy.stem, item.label)
        except DocumentError as exc:
            raise ItemFailed(str(exc)) from exc
        if self.password:
            doc.password = self.password
        with doc:
            plan = plan_documents(
                [doc],
                question,
                budget_tokens=budget,
                count_tokens=count,
                image_limit=int(job.settings.get("max_images", IMAGE_LIMIT)),
            )
            try:
                images = draw_image_pages([doc], plan, meter.settings if meter else MAVERICK)
            except PdfPasswordError as exc:  # the copy's name is its hash: say the file's
                what = (
                    f"The password given for {item.label} is wrong."
                    if exc.wrong_password
                    else f"{item.label} is protected by a password."
                )
                raise ItemFailed(
                    f"{what} Give its password to the run (--password, or the Batch window's "
                    "prompt) and retry the failed items."
                ) from exc
            except (PdfError, StorageError) as exc:
                raise ItemFailed(f"Pages of {item.label} could not be drawn: {exc}") from exc
        return p.ChatTurn("user", f"{plan.text}\n{question}", images)

    def _meter(self, settings: dict[str, Any]) -> ContextMeter | None:
        """The local checkpoint's meter; None for a server (tokens are then estimated)."""
        model = str(settings.get("model") or "")
        if settings.get("engine") == "server" or not model:
            return None
        with self._lock:
            if model not in self._meters:
                try:
                    self._meters[model] = ContextMeter(Path(model))
                except (ContextError, TilingError, OSError):
                    self._meters[model] = None  # estimated, as ask --doc does then
            return self._meters[model]


def _budget(settings: dict[str, Any], meter: ContextMeter | None, question_tokens: int) -> int:
    """Tokens of document text to send: what the engine's context leaves, else a default."""
    if settings.get("doc_budget"):
        return int(settings["doc_budget"])
    context = meter.context_length if meter else 0
    if not context and settings.get("preset"):
        from app.engines.presets import preset_named

        try:
            context = preset_named(str(settings["preset"])).context_tokens
        except KeyError:
            context = 0
    answer = int(settings.get("budget") or settings.get("max_new_tokens") or 512)
    return document_budget(context, question_tokens, 0, answer)
