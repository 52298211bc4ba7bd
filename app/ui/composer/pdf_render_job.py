"""Drawing the picked pages of a PDF at full size for the model, in a background thread."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path

from app.documents.attachments import text_layer_block
from app.documents.page_cache import render_pages
from app.documents.pdf import PdfError, PdfFile
from app.documents.tiling import ProcessorSettings
from app.storage.errors import StorageError
from app.ui.background.pool_job import PoolJob


@dataclass(frozen=True)
class DrawnPage:
    """A page drawn for the model: the PNG the worker opens, and the page's label."""

    image: Path
    label: str  # "report.pdf, page 2"
    text_layer: str  # the block put before the question ("" unless asked for)


def draw_pages(
    path: Path,
    password: str | None,
    pages: list[int],
    settings: ProcessorSettings,
    text_layer: bool,
    job: PoolJob,
) -> list[DrawnPage]:
    """Draws `pages` at the size the processor's tiles want (cached as PNGs), in order."""
    drawn: list[DrawnPage] = []
    with PdfFile(path, password) as pdf:
        for page in render_pages(pdf, pages, settings, should_stop=job.should_stop):
            label = f"{path.name}, page {page.page_number}"
            text = text_layer_block(label, pdf.text(page.page_number)) if text_layer else ""
            drawn.append(DrawnPage(page.image, label, text))
    return drawn


def page_render_job(
    path: Path,
    password: str | None,
    pages: list[int],
    settings: ProcessorSettings,
    text_layer: bool,
) -> PoolJob:
    """The job drawing `pages` of a PDF; succeeded: list[DrawnPage]; failed: PdfError, ..."""
    return PoolJob(
        partial(draw_pages, path, password, pages, settings, text_layer),
        errors=(PdfError, StorageError),
        key=path,
    )
