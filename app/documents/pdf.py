"""Opening PDFs with pypdfium2: page count, page sizes, thumbnails, renders and text.

Opening a document reads only its cross-reference table, so a 500-page PDF opens at
once; each page is loaded when it is drawn and closed straight after. PDFium is not
thread-safe, not even across documents, so every call into it holds one process-wide
lock: the window may render in a background thread while the command line or a test
renders in another. Loops over pages take `should_stop` and check it between pages.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import TracebackType

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import Image

from app.documents.tiling import MAVERICK, ProcessorSettings, render_size

MAX_PDF_BYTES = 1024 * 1024 * 1024
THUMBNAIL_SIDE = 192  # pixels on the long side
HEADER_SEARCH_BYTES = 1024  # the PDF spec lets "%PDF-" start anywhere in the first 1 KiB

_PDFIUM_LOCK = threading.RLock()

ShouldStop = Callable[[], bool]


class PdfError(ValueError):
    """A PDF that cannot be used, with a message for the user."""


class PdfPasswordError(PdfError):
    """The PDF is encrypted and no password, or a wrong one, was given."""

    def __init__(self, message: str, *, wrong_password: bool) -> None:
        super().__init__(message)
        self.wrong_password = wrong_password


def looks_like_pdf(path: Path | str) -> bool:
    """True if the file starts like a PDF (whatever its name says)."""
    try:
        with open(path, "rb") as handle:
            return b"%PDF-" in handle.read(HEADER_SEARCH_BYTES)
    except OSError:
        return False


class PdfFile:
    """An open PDF document. Page numbers count from 1, as people count them.

    Close it when done (or use it in a `with` block); it keeps the file open.
    """

    def __init__(self, path: Path | str, password: str | None = None) -> None:
        self.path = Path(path)
        _check_file(self.path)
        with _PDFIUM_LOCK:
            try:
                self._doc = pdfium.PdfDocument(str(self.path), password=password or None)
            except pdfium.PdfiumError as exc:
                raise _open_error(self.path, exc, password) from exc
            self.page_count = len(self._doc)
        if self.page_count < 1:
            self.close()
            raise PdfError(f"{self.path.name} has no pages.")

    def __enter__(self) -> PdfFile:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        with _PDFIUM_LOCK:
            self._doc.close()

    def check_page(self, number: int) -> None:
        if not 1 <= number <= self.page_count:
            raise PdfError(
                f"{self.path.name} has {self.page_count} page"
                f"{'' if self.page_count == 1 else 's'}; there is no page {number}."
            )

    def page_size(self, number: int) -> tuple[float, float]:
        """The page's width and height in points (1/72 inch), as it is displayed."""
        self.check_page(number)
        with _PDFIUM_LOCK:
            page = self._page(number)
            try:
                width, height = page.get_size()
            finally:
                page.close()
        return float(width), float(height)

    def render(self, number: int, width: int, height: int) -> Image.Image:
        """Draw page `number` at exactly `width` × `height` pixels, RGB on white."""
        self.check_page(number)
        with _PDFIUM_LOCK:
            page = self._page(number)
            try:
                page_w, page_h = page.get_size()
                # render() rounds each side up, so scale so both sides come out at least as
                # large as asked for, and trim the extra pixel the rounding may add.
                scale = max(width / page_w, height / page_h)
                bitmap = page.render(scale=scale, may_draw_forms=True)
                try:
                    image: Image.Image = bitmap.to_pil().convert(
                        "RGB"
                    )  # a copy: the bitmap is freed below
                finally:
                    bitmap.close()
            except pdfium.PdfiumError as exc:
                raise PdfError(
                    f"Page {number} of {self.path.name} could not be drawn ({exc}); "
                    "the page may be damaged. Pick other pages."
                ) from exc
            finally:
                page.close()
        extra_w, extra_h = image.width - width, image.height - height
        if 0 <= extra_w <= 2 and 0 <= extra_h <= 2:
            if extra_w or extra_h:
                image = image.crop((0, 0, width, height))
            return image
        resized: Image.Image = image.resize((width, height), Image.Resampling.LANCZOS)
        return resized  # asked for another aspect ratio than the page's

    def render_for_model(
        self, number: int, settings: ProcessorSettings = MAVERICK, max_tiles: int = 0
    ) -> Image.Image:
        """Draw a page at the size that fills the processor's tiles (see `render_size`)."""
        width, height = self.page_size(number)
        return self.render(number, *render_size(width, height, settings, max_tiles))

    def thumbnail(self, number: int, max_side: int = THUMBNAIL_SIDE) -> Image.Image:
        """A small drawing of a page, `max_side` pixels on its long side."""
        width, height = self.page_size(number)
        scale = max_side / max(width, height)
        return self.render(number, max(1, round(width * scale)), max(1, round(height * scale)))

    def thumbnails(
        self,
        numbers: Iterable[int],
        max_side: int = THUMBNAIL_SIDE,
        should_stop: ShouldStop = lambda: False,
    ) -> Iterator[tuple[int, Image.Image]]:
        """Yield (page number, thumbnail) page by page until done or `should_stop()`."""
        for number in numbers:
            if should_stop():
                return
            yield number, self.thumbnail(number, max_side)

    def text(self, number: int) -> str:
        """The page's text layer ("" for a scanned page without one)."""
        self.check_page(number)
        with _PDFIUM_LOCK:
            page = self._page(number)
            try:
                textpage = page.get_textpage()
                try:
                    text = str(textpage.get_text_bounded())
                finally:
                    textpage.close()
            except pdfium.PdfiumError as exc:
                raise PdfError(
                    f"The text of page {number} of {self.path.name} cannot be read ({exc})."
                ) from exc
            finally:
                page.close()
        return text.replace("\r\n", "\n").replace("\r", "\n").strip()

    def _page(self, number: int) -> pdfium.PdfPage:
        try:
            return self._doc[number - 1]
        except pdfium.PdfiumError as exc:
            raise PdfError(
                f"Page {number} of {self.path.name} cannot be loaded ({exc}); the file may be "
                "damaged. Pick other pages or repair the PDF."
            ) from exc


def _check_file(path: Path) -> None:
    if not path.exists() and path.is_symlink():
        raise PdfError(
            f"{path.name} is a symbolic link that leads nowhere (its target is missing, or "
            "the links form a loop). Attach the file itself."
        )
    if not path.exists():
        raise PdfError(f"{path.name}: the file does not exist (was it moved or deleted?).")
    if path.is_dir():
        raise PdfError(f"{path.name} is a folder, not a PDF.")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise PdfError(f"{path.name}: cannot read the file ({exc.strerror}).") from exc
    if size == 0:
        raise PdfError(f"{path.name} is empty (0 bytes), so it is not a PDF.")
    if size > MAX_PDF_BYTES:
        raise PdfError(
            f"{path.name} is {size // (1024 * 1024)} MiB; PDFs up to "
            f"{MAX_PDF_BYTES // (1024 * 1024)} MiB are accepted. Split it first."
        )
    if not os.access(path, os.R_OK):
        raise PdfError(f"{path.name}: permission denied.")
    if not looks_like_pdf(path):
        raise PdfError(
            f"{path.name} is not a PDF: it does not start with %PDF-. Is it another kind "
            "of file with a .pdf name?"
        )


def _open_error(path: Path, exc: pdfium.PdfiumError, password: str | None) -> PdfError:
    code = getattr(exc, "err_code", None)
    if code == pdfium_c.FPDF_ERR_PASSWORD:
        if password:
            return PdfPasswordError(
                f"The password for {path.name} is wrong. Check it (passwords are "
                "case-sensitive) and try again.",
                wrong_password=True,
            )
        return PdfPasswordError(
            f"{path.name} is protected by a password. Enter its password to open it.",
            wrong_password=False,
        )
    if code == pdfium_c.FPDF_ERR_SECURITY:
        return PdfError(
            f"{path.name} uses an encryption scheme PDFium does not support; save an "
            "unprotected copy from the program that made it."
        )
    if code == pdfium_c.FPDF_ERR_FORMAT:
        return PdfError(
            f"{path.name} is damaged or truncated and cannot be read as a PDF. Download or "
            "export it again."
        )
    return PdfError(f"{path.name} cannot be opened as a PDF ({exc}).")
