"""``ask --doc FILE``: ask whole documents, with page citations.

Each document is indexed once (``maverick-desk docs``). When all their text fits what the
model's context leaves after the question and the answer, it goes whole with page
markers; otherwise the pages that rank best for the question, with their neighbours.
Pages whose text layer is thin (figures, scans) go as images, up to the image limit.
Which pages went, and how, is said on stderr before the answer.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from app.documents.attachments import AttachmentError
from app.documents.context import ContextError, ContextMeter
from app.documents.doc_index import DocumentError, DocumentIndex, open_document
from app.documents.doc_plan import (
    DEFAULT_BUDGET,
    approximate_tokens,
    document_budget,
    draw_image_pages,
    plan_documents,
)
from app.documents.pdf import PdfError
from app.documents.tiling import MAVERICK, TilingError
from app.storage.errors import StorageError

Say = Callable[[str], None]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--doc",
        action="append",
        default=[],
        metavar="FILE",
        help="ask a whole PDF, text or Markdown file (repeatable); pages are cited as [p. N]",
    )
    parser.add_argument("--doc-password", metavar="PW", help="password of an encrypted --doc PDF")
    parser.add_argument(
        "--doc-budget",
        type=int,
        metavar="TOKENS",
        help="tokens of document text to send at most (default: what the context of the model "
        f"or --preset leaves; {DEFAULT_BUDGET:,} with --server)",
    )


def check(args: argparse.Namespace, say: Say) -> None:
    """Index every --doc before a model loads, so a bad file is refused at once.

    The open indexes stay on `args.doc_indexes` for `apply` (which closes them), so each
    file is hashed and opened once.
    """
    args.doc_indexes = []
    try:
        for path in args.doc:
            args.doc_indexes.append(_open(path, args.doc_password, say))
    except AttachmentError:
        for doc in args.doc_indexes:
            doc.close()
        raise


def apply(
    args: argparse.Namespace, model: Path | None, prompt: str, images: list[str], say: Say
) -> tuple[str, list[str]]:
    """The prompt with the documents' text before the question, and the images to send.

    Raises `AttachmentError` with a sentence for a document that cannot be used.
    """
    meter = _meter(model, say)
    count = meter.count_text if meter else approximate_tokens
    budget = args.doc_budget
    if budget is None:
        budget = document_budget(
            _engine_context(args, meter), count(prompt), 0, args.max_new_tokens
        )
    if budget < 1:
        raise AttachmentError(
            "The question and the answer's length leave no room for the documents in the "
            "model's context; lower --max-new-tokens."
        )
    docs = getattr(args, "doc_indexes", None) or [
        _open(path, args.doc_password, say) for path in args.doc
    ]
    try:
        plan = plan_documents(
            docs,
            prompt,
            budget_tokens=budget,
            count_tokens=count,
            image_limit=max(0, args.max_images - len(images)),
        )
        say(f"[{plan.summary()}]")
        settings = meter.settings if meter else MAVERICK
        try:
            page_images = draw_image_pages(docs, plan, settings, args.doc_password)
        except (PdfError, StorageError) as exc:
            raise AttachmentError(f"Pages of the documents could not be drawn: {exc}") from exc
    finally:
        for doc in docs:
            doc.close()
    return f"{plan.text}\n{prompt}", images + page_images


def _engine_context(args: argparse.Namespace, meter: ContextMeter | None) -> int:
    """The context of the engine asked: the checkpoint's, or the hosted preset's (0: unknown)."""
    if meter and meter.context_length:
        return meter.context_length
    name = getattr(args, "preset", None)
    if name:
        from app.engines.presets import preset_named

        try:
            return preset_named(name).context_tokens
        except KeyError:
            return 0  # ask itself refuses an unknown preset, with the names there are
    return 0


def _meter(model: Path | None, say: Say) -> ContextMeter | None:
    if model is None:
        return None
    try:
        return ContextMeter(model)
    except (ContextError, TilingError) as exc:
        say(f"warning: tokens are estimated, the checkpoint's tokenizer cannot be read: {exc}")
        return None


def _open(path: str, password: str | None, say: Say) -> DocumentIndex:
    def progress(done: int, total: int) -> None:
        if done == total and total >= 50:
            say(f"[indexed {Path(path).name}: {total} pages]")

    try:
        doc = open_document(Path(path).expanduser(), password=password, progress=progress)
    except DocumentError as exc:
        hint = " Pass it with --doc-password PW." if exc.password_wanted else ""
        raise AttachmentError(f"{exc}{hint}") from exc
    if doc.changed:
        say(f"[{doc.info.name} changed since it was indexed; indexed again]")
    if doc.info.chars == 0 and doc.info.page_count == 1 and doc.info.kind == "text":
        doc.close()
        raise AttachmentError(f"{Path(path).name} is empty: there is nothing to ask about.")
    return doc
