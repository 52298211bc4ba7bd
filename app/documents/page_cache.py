"""PDF pages drawn for the model, kept as PNG files the worker can open.

The worker takes images as file paths, so a picked page is drawn once at the size the
processor's tiles want (`PdfFile.render_for_model`) and written to the cache folder in
the data directory. A file is named after the PDF (path, size, modification time), the
page and the size, so drawing the same page again is free and an edited PDF is drawn
anew. The oldest files go once the folder passes `CACHE_LIMIT_BYTES`.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from app.documents.pdf import PdfFile, ShouldStop
from app.documents.tiling import MAVERICK, ProcessorSettings, render_size
from app.paths import data_dir
from app.storage.atomic import atomic_write_bytes

CACHE_FOLDER = "pdf-pages"
CACHE_LIMIT_BYTES = 512 * 1024 * 1024
CACHE_FORMAT = 1  # part of every file name: bump to stop using files drawn differently


@dataclass(frozen=True)
class RenderedPage:
    """A page drawn for the model."""

    source: Path
    page_number: int
    image: Path
    width: int
    height: int


def cache_dir() -> Path:
    """Where drawn pages are kept (created when the first page is drawn)."""
    return data_dir() / "cache" / CACHE_FOLDER


def render_pages(
    pdf: PdfFile,
    numbers: Iterable[int],
    settings: ProcessorSettings = MAVERICK,
    max_tiles: int = 0,
    should_stop: ShouldStop = lambda: False,
    folder: Path | None = None,
) -> Iterator[RenderedPage]:
    """Draw each page (or take it from the cache) and yield it, until done or stopped.

    Raises `PdfError` for a page that cannot be drawn and `StorageError` when the cache
    folder cannot be written.
    """
    folder = folder or cache_dir()
    identity = _identity(pdf.path)
    for number in numbers:
        if should_stop():
            return
        width, height = render_size(*pdf.page_size(number), settings, max_tiles)
        key = hashlib.sha256(f"{identity}|{number}|{width}x{height}".encode()).hexdigest()
        path = folder / f"v{CACHE_FORMAT}-{key[:32]}.png"
        if path.is_file():
            with contextlib.suppress(OSError):
                os.utime(path)  # keep recently used pages when pruning
        else:
            image = pdf.render(number, width, height)
            buffer = io.BytesIO()
            image.save(buffer, format="PNG", compress_level=3)
            atomic_write_bytes(path, buffer.getvalue(), f"save page {number} of {pdf.path.name}")
        yield RenderedPage(pdf.path, number, path, width, height)
    prune_cache(folder)


def prune_cache(folder: Path | None = None, limit_bytes: int = CACHE_LIMIT_BYTES) -> int:
    """Delete the least recently used drawn pages past `limit_bytes`; return how many."""
    folder = folder or cache_dir()
    try:
        entries = [(entry.stat(), entry) for entry in folder.glob("v*-*.png")]
    except OSError:
        return 0
    entries.sort(key=lambda item: item[0].st_mtime, reverse=True)
    total = 0
    removed = 0
    for stat, entry in entries:
        total += stat.st_size
        if total > limit_bytes:
            with contextlib.suppress(FileNotFoundError):
                entry.unlink()
                removed += 1
    return removed


def _identity(path: Path) -> str:
    resolved = path.resolve()
    stat = resolved.stat()
    return f"{resolved}|{stat.st_size}|{stat.st_mtime_ns}"
