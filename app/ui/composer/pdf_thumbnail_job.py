"""Drawing a PDF's page thumbnails in a background thread, one signal per page.

PDFium calls hold a process-wide lock (see `app.documents.pdf`), so the job opens its
own copy of the document and the GUI thread never waits on a page being drawn. The
job checks its stop flag between pages; the dialog sets it and waits when it closes.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from PIL import Image
from PySide6.QtGui import QImage

from app.documents.pdf import PdfError, PdfFile
from app.ui.background.pool_job import PoolJob


def to_qimage(image: Image.Image) -> QImage:
    """An RGB Pillow image as a QImage that owns its pixels."""
    rgb = image.convert("RGB")
    data = rgb.tobytes()
    return QImage(data, rgb.width, rgb.height, 3 * rgb.width, QImage.Format.Format_RGB888).copy()


def draw_thumbnails(
    path: Path, password: str | None, pages: list[int], max_side: int, job: PoolJob
) -> None:
    """Reports `(page number, QImage)` for each of `pages`, in order, until done or stopped."""
    with PdfFile(path, password) as pdf:
        for number, image in pdf.thumbnails(pages, max_side, should_stop=job.should_stop):
            job.report((number, to_qimage(image)))


def thumbnail_job(path: Path, password: str | None, pages: list[int], max_side: int) -> PoolJob:
    """The job drawing the thumbnails: reported (number, QImage) pairs; failed: PdfError."""
    return PoolJob(
        partial(draw_thumbnails, path, password, pages, max_side), errors=(PdfError,), key=path
    )
