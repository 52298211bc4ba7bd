"""What a batch job runs over: image files and PDF pages, copied into the job's store.

Folders are searched (not recursively unless asked) for images and PDFs; each image is
one item, and each PDF page one item (drawn at the size the model's tiles use), or, with
``pdf_as="documents"``, each PDF one item asked as a whole document (its text, and its
thin pages as images: `app.batch.documents`). Every input is copied into the batch store
by content hash when the job is made (a whole PDF is indexed then, so a bad one is left
out at once), so the job no longer depends on the folder. Files that cannot be used are
left out, each with a sentence; a job with nothing usable is refused.

Encrypted PDFs open with the job's password (one for all; a PDF that needs none opens
without it). One without a password, or with a wrong one, is left out with a sentence,
and the others go on. The password is never written: pages are drawn when the job is
made, and a whole document's thin pages are drawn with the password the run is given.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from app.batch.jobs import JobError, NewItem, jobs_folder
from app.documents.doc_index import DocumentError, DocumentIndex, open_document, open_stored
from app.documents.pdf import PdfError, PdfFile, PdfPasswordError, looks_like_pdf
from app.storage.atomic import atomic_write_bytes
from app.storage.errors import StorageError
from app.storage.image_store import ImageStore

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff")
MAX_ITEMS = 100_000
PDF_AS = ("pages", "documents")  # how a PDF becomes items: one a page, or one a document


@dataclass
class Collected:
    """The items found, and a sentence for each file left out."""

    items: list[NewItem] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)


def image_store() -> ImageStore:
    return ImageStore(jobs_folder() / "images")


def document_folder() -> Path:
    """Where whole PDFs of batch jobs are kept, each named by the SHA-256 of its bytes."""
    return jobs_folder() / "documents"


def candidate_files(paths: Sequence[str | Path], recursive: bool = False) -> list[Path]:
    """The files named, and the images and PDFs in the folders named, in name order."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            pattern = "**/*" if recursive else "*"
            found += sorted(
                p
                for p in path.glob(pattern)
                if p.is_file()
                and (p.suffix.lower() in IMAGE_SUFFIXES or p.suffix.lower() == ".pdf")
            )
        elif path.is_file():
            found.append(path)
        else:
            raise JobError(f"{path} does not exist.")
    return found


def is_locked(path: Path) -> bool:
    """Whether a PDF needs a password to be opened (other faults are said when collected)."""
    try:
        with PdfFile(path):
            return False
    except PdfPasswordError:
        return True
    except PdfError:
        return False


def locked_pdfs(paths: Sequence[str | Path], recursive: bool = False) -> list[Path]:
    """The encrypted PDFs among the inputs: the ones a password is asked for."""
    return [p for p in candidate_files(paths, recursive) if looks_like_pdf(p) and is_locked(p)]


def _open_pdf(path: Path, password: str | None, hint: str) -> PdfFile:
    """The PDF, opened with `password` only if it needs one; PdfError with a sentence."""
    try:
        return PdfFile(path)
    except PdfPasswordError:
        if password is None:
            raise PdfPasswordError(_locked(path.name, hint), wrong_password=False) from None
    return PdfFile(path, password=password)


def _locked(name: str, hint: str) -> str:
    return f"{name} is protected by a password. {hint or 'Give its password to open it.'}"


def collect(
    paths: Sequence[str | Path],
    *,
    recursive: bool = False,
    pdf_as: str = "pages",
    progress: Callable[[str], None] = lambda _label: None,
    password: str | None = None,
    password_hint: str = "",
) -> Collected:
    """Copy every usable input into the store; raise JobError when nothing is usable.

    `password` opens encrypted PDFs; `password_hint` says how to give one, after the
    sentence of an encrypted PDF left out for want of it.
    """
    if pdf_as not in PDF_AS:
        raise JobError(f"PDFs go as {' or '.join(PDF_AS)}, not {pdf_as!r}.")
    store = image_store()
    collected = Collected()
    files = candidate_files(paths, recursive)
    for path in files:
        try:
            if looks_like_pdf(path) and pdf_as == "documents":
                collected.items.append(_pdf_document(path, store, password, password_hint))
                progress(path.name)
            elif looks_like_pdf(path):
                pdf = _open_pdf(path, password, password_hint)
                collected.items += _pdf_pages(pdf, path, store, progress)
            elif path.suffix.lower() in IMAGE_SUFFIXES:
                stored = store.add_file(path)
                image = store.path_for(stored.sha256, stored.mime)
                collected.items.append(NewItem(path.name, str(path), str(image)))
                progress(path.name)
            else:
                collected.left_out.append(f"{path.name}: not an image or a PDF.")
        except (PdfError, StorageError, DocumentError) as exc:
            collected.left_out.append(f"{path.name}: {exc}")
        if len(collected.items) > MAX_ITEMS:
            raise JobError(f"A batch job may hold at most {MAX_ITEMS:,} items; split it.")
    if not collected.items:
        named = ", ".join(str(p) for p in paths)
        why = f" ({' '.join(collected.left_out[:3])})" if collected.left_out else ""
        raise JobError(f"There are no usable images or PDFs in {named}{why}.")
    return collected


def _pdf_pages(
    pdf: PdfFile, path: Path, store: ImageStore, progress: Callable[[str], None]
) -> list[NewItem]:
    items = []
    with pdf:
        for number in range(1, pdf.page_count + 1):
            image = pdf.render_for_model(number)
            buffer = io.BytesIO()
            image.save(buffer, format="PNG", compress_level=3)
            stored, _ = store.add_bytes(buffer.getvalue(), "image/png", image.width, image.height)
            label = f"{path.name} p. {number}"
            items.append(NewItem(label, str(path), str(store.path_for(stored.sha256, stored.mime))))
            progress(label)
    return items


def _pdf_document(path: Path, store: ImageStore, password: str | None, hint: str) -> NewItem:
    """One item for a whole PDF: its copy by hash, indexed now; its first page the thumbnail."""
    data = path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    copy = document_folder() / f"{sha}.pdf"
    fresh = not copy.is_file()
    if fresh:
        atomic_write_bytes(copy, data, "keep a PDF of a batch job")
    try:
        with _index(copy, sha, path.name, password, hint) as doc:  # a bad PDF is left out now
            if doc.info.page_count == 0:
                raise PdfError("it has no pages.")
        with _open_pdf(copy, password, hint) as pdf:
            image = pdf.render_for_model(1)
    except (PdfError, DocumentError):
        if fresh:  # no job holds it: keep no copy of a file that was left out
            copy.unlink(missing_ok=True)
        raise
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=3)
    stored, _ = store.add_bytes(buffer.getvalue(), "image/png", image.width, image.height)
    return NewItem(path.name, str(path), str(store.path_for(stored.sha256, stored.mime)), str(copy))


def _index(path: Path, sha: str, name: str, password: str | None, hint: str) -> DocumentIndex:
    """The page index of a job's copy of a PDF, built with the password if it needs one."""
    try:
        return open_stored(path, sha, name)
    except DocumentError as exc:
        if not exc.password_wanted:
            raise
        if password is None:
            raise DocumentError(_locked(name, hint), password_wanted=True) from None
    try:
        return open_document(path, password=password)
    except DocumentError as exc:  # a wrong password: its sentence names the copy's file
        raise DocumentError(str(exc).replace(path.name, name)) from None
