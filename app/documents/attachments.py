"""Files attached to a question, images and PDFs alike, turned into what the model gets.

Two steps, so that every mistake is caught before a model loads and the slow part can
run in the background:

1. `plan_attachments` checks each file (opens the PDF, with its password; decodes the
   image), resolves the pages (named ranges, or the first pages that fit the image
   limit) and checks the image limit. Cheap: no page is drawn.
2. `prepare_attachment` draws the picked pages at the size the processor's tiles want
   (cached as PNG files), works out each image's tile grid and token cost, and reads
   the pages' text layers if asked. It checks `should_stop` between pages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from app.documents.page_cache import render_pages
from app.documents.page_ranges import (
    PageRangeError,
    default_pages,
    format_page_ranges,
    parse_page_ranges,
)
from app.documents.pdf import PdfError, PdfFile, PdfPasswordError, ShouldStop, looks_like_pdf
from app.documents.tiling import MAVERICK, ProcessorSettings, TileGrid, tile_grid
from app.inference.images import (
    DEFAULT_IMAGE_LIMIT,
    ImageError,
    ImageFacts,
    check_image_count,
    image_facts,
)
from app.storage.errors import StorageError

MAX_TEXT_LAYER_CHARS = 20_000  # per page; a text layer longer than this is cut, with a note


class AttachmentError(ValueError):
    """An attachment that cannot be sent, with a message for the user.

    `password_wanted` is set for an encrypted PDF opened without its password or with a
    wrong one: ask for the password and plan again.
    """

    def __init__(self, message: str, *, password_wanted: bool = False) -> None:
        super().__init__(message)
        self.password_wanted = password_wanted


@dataclass(frozen=True)
class AttachmentRequest:
    """A file the user attached, with the pages (for a PDF) and its password if any."""

    path: Path
    pages: str | None = None
    password: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class PlannedAttachment:
    """A checked attachment: which pages will be sent, and what to tell the user."""

    path: Path
    kind: str  # "image" or "pdf"
    page_numbers: tuple[int, ...] = ()  # PDFs only
    page_count: int = 0  # PDFs only
    facts: ImageFacts | None = None  # images only
    notices: tuple[str, ...] = ()
    password: str | None = field(default=None, repr=False)

    @property
    def image_count(self) -> int:
        return len(self.page_numbers) if self.kind == "pdf" else 1


@dataclass(frozen=True)
class SentImage:
    """One image the model gets: the file the worker opens, its grid, and a label."""

    path: Path
    width: int
    height: int
    grid: TileGrid
    label: str  # "chart.png" or "report.pdf, page 3"


@dataclass(frozen=True)
class PreparedAttachment:
    """An attachment ready to send."""

    plan: PlannedAttachment
    images: tuple[SentImage, ...]
    text: str = ""  # the text layers of its pages, if asked for

    @property
    def image_tokens(self) -> int:
        return sum(image.grid.image_tokens for image in self.images)

    @property
    def patch_tokens(self) -> int:
        return sum(image.grid.patch_tokens for image in self.images)


def is_pdf(path: Path | str) -> bool:
    """A PDF by content, or by name (so a renamed text file gets the PDF message)."""
    path = Path(path)
    return path.suffix.lower() == ".pdf" or (path.is_file() and looks_like_pdf(path))


def plan_attachments(
    requests: Sequence[AttachmentRequest], image_limit: int = DEFAULT_IMAGE_LIMIT
) -> list[PlannedAttachment]:
    """Check every attachment and pick its pages; raise `AttachmentError`."""
    plans: list[PlannedAttachment] = []
    budget = image_limit
    for request in requests:
        plan = plan_attachment(request, budget)
        budget -= plan.image_count
        plans.append(plan)
    try:
        check_image_count(sum(plan.image_count for plan in plans), image_limit)
    except ImageError as exc:
        raise AttachmentError(str(exc)) from exc
    return plans


def plan_attachment(request: AttachmentRequest, image_budget: int) -> PlannedAttachment:
    """Check one attachment; a PDF without pages gets the first `image_budget` pages."""
    path = Path(request.path).expanduser()
    if not is_pdf(path):
        if request.pages:
            raise AttachmentError(f"{path.name} is an image; pages can only be picked in a PDF.")
        try:
            facts = image_facts(path)
        except ImageError as exc:
            raise AttachmentError(str(exc)) from exc
        image_notices = (facts.notice,) if facts.notice else ()
        return PlannedAttachment(path, "image", facts=facts, notices=image_notices)
    try:
        with PdfFile(path, request.password) as pdf:
            count = pdf.page_count
    except PdfPasswordError as exc:
        raise AttachmentError(str(exc), password_wanted=True) from exc
    except PdfError as exc:
        raise AttachmentError(str(exc)) from exc
    notices: tuple[str, ...] = ()
    if request.pages:
        try:
            pages = parse_page_ranges(request.pages, count)
        except PageRangeError as exc:
            raise AttachmentError(f"{path.name}: {exc}") from exc
    else:
        pages = default_pages(count, image_budget)
        if not pages:
            raise AttachmentError(
                f"No room for {path.name}: the other attachments already use the image "
                "limit. Remove some, or pick fewer pages."
            )
        if len(pages) < count:
            notices = (
                f"{path.name} has {count} pages; sending pages {format_page_ranges(pages)} "
                "(the first that fit the image limit). Pick others with a page range.",
            )
    return PlannedAttachment(
        path, "pdf", tuple(pages), count, notices=notices, password=request.password
    )


def prepare_attachment(
    plan: PlannedAttachment,
    settings: ProcessorSettings = MAVERICK,
    text_layer: bool = False,
    max_tiles: int = 0,
    should_stop: ShouldStop = lambda: False,
) -> PreparedAttachment | None:
    """Draw the pages and work out the tiles; None if `should_stop()` cut it short.

    Raises `AttachmentError` (a page that cannot be drawn, a cache that cannot be
    written).
    """
    if plan.kind == "image":
        facts = plan.facts or image_facts(plan.path)
        grid = tile_grid(facts.width, facts.height, settings)
        image = SentImage(plan.path, facts.width, facts.height, grid, plan.path.name)
        return PreparedAttachment(plan, (image,))
    images: list[SentImage] = []
    texts: list[str] = []
    try:
        with PdfFile(plan.path, plan.password) as pdf:
            for page in render_pages(pdf, plan.page_numbers, settings, max_tiles, should_stop):
                label = f"{plan.path.name}, page {page.page_number}"
                grid = tile_grid(page.width, page.height, settings)
                images.append(SentImage(page.image, page.width, page.height, grid, label))
                if text_layer:
                    texts.append(text_layer_block(label, pdf.text(page.page_number)))
    except (PdfError, StorageError) as exc:
        raise AttachmentError(str(exc)) from exc
    if len(images) < len(plan.page_numbers):
        return None
    return PreparedAttachment(plan, tuple(images), "\n\n".join(texts))


def text_layer_block(label: str, text: str) -> str:
    """A page's text layer as it is put before the question."""
    if not text:
        return f"[Text layer of {label}: none; the page has no selectable text.]"
    if len(text) > MAX_TEXT_LAYER_CHARS:
        text = text[:MAX_TEXT_LAYER_CHARS] + f"\n[… cut at {MAX_TEXT_LAYER_CHARS:,} characters]"
    return f"[Text layer of {label}]\n{text}\n[End of the text layer of {label}]"


def compose_prompt(prompt: str, prepared: Sequence[PreparedAttachment]) -> str:
    """The user's text with the attachments' text layers before it."""
    layers = [attachment.text for attachment in prepared if attachment.text]
    return "\n\n".join([*layers, prompt]) if layers else prompt
