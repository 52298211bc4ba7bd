"""A document's page text in an SQLite full-text index, kept by the file's content hash.

A PDF's pages come from PDFium's text layer; a text or Markdown file is cut into pages of
about `TEXT_PAGE_CHARS` characters at paragraph breaks, so that citations can name them.
The index is one SQLite file per document in the data folder, named after the SHA-256 of
the file's bytes: opening the same document again, from anywhere, costs one hash and no
parsing. A file changed since it was indexed has another hash, is indexed again, and the
result says so (the index of the old bytes stays for conversations that used it).

Each index carries a format version; one written by a newer version is refused, never
altered. It is built in a temporary file and renamed into place, so a cancelled or
crashed build leaves nothing half-written.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import sqlite3
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from app.documents.pdf import PdfError, PdfFile, PdfPasswordError, ShouldStop, looks_like_pdf
from app.paths import data_dir
from app.storage.atomic import atomic_write_text, fsync_folder
from app.storage.versioned import is_newer, newer_version_sentence

INDEX_FORMAT = 1  # bump when the tables change; a newer file is refused
INDEX_FOLDER = "documents"
SOURCES_FILE = "sources.json"  # resolved path -> hash of the bytes last indexed there
TEXT_PAGE_CHARS = 3_000
TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".text")
MAX_TEXT_BYTES = 64 * 1024 * 1024
THIN_PAGE_CHARS = 200  # a page with less text than this is probably a figure or a scan

Progress = Callable[[int, int], None]  # (pages done, pages in all)


class DocumentError(ValueError):
    """A document that cannot be indexed or read, with a message for the user.

    `password_wanted` is set for an encrypted PDF opened without its password or with a
    wrong one: ask for the password and open it again.
    """

    def __init__(self, message: str, *, password_wanted: bool = False) -> None:
        super().__init__(message)
        self.password_wanted = password_wanted


class IndexCancelled(DocumentError):
    """Indexing was stopped before the end; nothing was written."""


@dataclass(frozen=True)
class PageHit:
    """A page that matches a search, with its bm25 rank (smaller is better) and an excerpt."""

    number: int
    rank: float
    excerpt: str


@dataclass(frozen=True)
class DocumentInfo:
    """What the Sources strip and `docs show` tell about a document."""

    name: str
    sha256: str
    kind: str  # "pdf" or "text"
    page_count: int
    text_pages: int  # pages with a text layer of THIN_PAGE_CHARS characters or more
    chars: int


class DocumentIndex:
    """An open index of one document's pages."""

    def __init__(
        self,
        path: Path,
        *,
        changed: bool = False,
        source_path: Path | None = None,
        password: str | None = None,
    ) -> None:
        self.path = path
        self.changed = changed  # the file was indexed before with other bytes
        self.source_path = source_path  # the file it was opened from, if any
        self.password = password  # an encrypted PDF's, to draw its pages (kept in memory only)
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        fmt = self._meta("format")
        if is_newer(fmt, INDEX_FORMAT):
            self._db.close()
            raise DocumentError(newer_version_sentence(path, fmt, INDEX_FORMAT, "index format"))
        self.info = DocumentInfo(
            name=self._meta("name") or path.stem,
            sha256=self._meta("sha256") or path.stem,
            kind=self._meta("kind") or "pdf",
            page_count=int(self._meta("page_count") or 0),
            text_pages=self._db.execute(
                "SELECT count(*) FROM pages WHERE length(text) >= ?", (THIN_PAGE_CHARS,)
            ).fetchone()[0],
            chars=self._db.execute("SELECT coalesce(sum(length(text)), 0) FROM pages").fetchone()[
                0
            ],
        )

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> DocumentIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def page_text(self, number: int) -> str:
        row = self._db.execute("SELECT text FROM pages WHERE number = ?", (number,)).fetchone()
        if row is None:
            raise DocumentError(
                f"{self.info.name} has {self.info.page_count} pages; there is no page {number}."
            )
        return str(row[0])

    def pages(self) -> Iterator[tuple[int, str]]:
        """Every page's (number, text), in page order."""
        for row in self._db.execute("SELECT number, text FROM pages ORDER BY number"):
            yield int(row[0]), str(row[1])

    def page_sources(self) -> dict[int, str]:
        """Where each page's text came from: "layer", "model" (read by the model) or ""."""
        rows = self._db.execute("SELECT number, source FROM pages")
        return {int(number): str(source) for number, source in rows}

    def thin_pages(self) -> list[int]:
        """Pages whose text is too short to stand for them (figures, charts, scans)."""
        rows = self._db.execute(
            "SELECT number FROM pages WHERE length(text) < ? ORDER BY number", (THIN_PAGE_CHARS,)
        )
        return [int(row[0]) for row in rows]

    def search(self, query: str, limit: int = 20) -> list[PageHit]:
        """Pages matching any word of `query`, best first (SQLite FTS5's bm25)."""
        match = fts_query(query)
        if not match:
            return []
        rows = self._db.execute(
            "SELECT rowid, bm25(pages_fts) AS rank, snippet(pages_fts, 0, '[', ']', '…', 12) "
            "FROM pages_fts WHERE pages_fts MATCH ? ORDER BY rank LIMIT ?",
            (match, limit),
        )
        return [PageHit(int(r[0]), float(r[1]), str(r[2])) for r in rows]

    def set_page_text(self, number: int, text: str, source: str = "model") -> None:
        """Store a page's text read another way (the model reading a scanned page)."""
        self.page_text(number)  # checks the number
        with self._db:
            self._db.execute(
                "UPDATE pages SET text = ?, source = ? WHERE number = ?", (text, source, number)
            )
            self._db.execute("DELETE FROM pages_fts WHERE rowid = ?", (number,))
            self._db.execute("INSERT INTO pages_fts(rowid, text) VALUES (?, ?)", (number, text))
        self.info = replace(
            self.info,
            text_pages=self._db.execute(
                "SELECT count(*) FROM pages WHERE length(text) >= ?", (THIN_PAGE_CHARS,)
            ).fetchone()[0],
            chars=self._db.execute("SELECT coalesce(sum(length(text)), 0) FROM pages").fetchone()[
                0
            ],
        )


_WORD = re.compile(r"\w+", re.UNICODE)
_STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "can",
        "do",
        "does",
        "for",
        "from",
        "has",
        "have",
        "how",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "their",
        "this",
        "to",
        "was",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "you",
        "your",
        "page",
        "pages",
        "document",
        "say",
        "says",
        "said",
        "tell",
    ]
)


def fts_query(text: str) -> str:
    """An FTS5 query matching any of the words of `text` that carry meaning."""
    words: list[str] = []
    for word in _WORD.findall(text.lower()):
        if len(word) < 2 or word in _STOP_WORDS or word in words:
            continue
        words.append(word)
    return " OR ".join(f'"{word}"' for word in words[:64])


def index_folder() -> Path:
    return data_dir() / INDEX_FOLDER


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise DocumentError(f"{path.name} cannot be read ({exc.strerror or exc}).") from exc
    return digest.hexdigest()


def open_document(
    path: Path | str,
    *,
    password: str | None = None,
    progress: Progress | None = None,
    should_stop: ShouldStop = lambda: False,
) -> DocumentIndex:
    """The index of a PDF, text or Markdown file: opened if it exists, else built.

    Raises DocumentError (PdfPasswordError's message for an encrypted PDF is kept) and
    IndexCancelled when `should_stop()` turns true before the end.
    """
    path = Path(path)
    if not path.is_file():
        raise DocumentError(f"{path} does not exist or is not a file.")
    sha = file_sha256(path)
    folder = index_folder()
    target = folder / f"{sha}.sqlite"
    changed = _remember_source(folder, path, sha)
    if not target.exists():
        _build(path, sha, target, password, progress, should_stop)
    return DocumentIndex(target, changed=changed, source_path=path, password=password)


def open_stored(path: Path | str, sha256: str, name: str) -> DocumentIndex:
    """The index of a document kept with a conversation (`path` holds the bytes `sha256`).

    The index of those bytes is opened without hashing the file again; a missing one
    (an imported conversation, a cleared cache) is built. The document keeps `name`,
    the name it was attached under. Raises DocumentError with a sentence.
    """
    path = Path(path)
    target = index_folder() / f"{sha256}.sqlite"
    if not path.is_file():
        raise DocumentError(f"{name} is missing from the data folder ({path}); attach it again.")
    try:
        doc = DocumentIndex(target, source_path=path) if target.exists() else open_document(path)
    except sqlite3.Error as exc:
        raise DocumentError(
            f"The page index of {name} cannot be read ({exc}); delete {target} and open the "
            "conversation again to index it anew."
        ) from exc
    doc.info = replace(doc.info, name=name)
    return doc


def _remember_source(folder: Path, path: Path, sha: str) -> bool:
    """Record that `path` now holds `sha`; True if it held other indexed bytes before."""
    registry = folder / SOURCES_FILE
    try:
        known = json.loads(registry.read_text(encoding="utf-8"))
        if not isinstance(known, dict):
            known = {}
    except (OSError, ValueError):
        known = {}
    key = str(path.resolve())
    before = known.get(key)
    if before == sha:
        return False
    known[key] = sha
    atomic_write_text(registry, json.dumps(known, indent=1), "remember an indexed document")
    return isinstance(before, str) and (folder / f"{before}.sqlite").exists()


def _read_pages(
    path: Path, password: str | None, progress: Progress | None, should_stop: ShouldStop
) -> Iterator[tuple[int, str]]:
    if looks_like_pdf(path):
        with PdfFile(path, password) as pdf:
            for number in range(1, pdf.page_count + 1):
                if should_stop():
                    raise IndexCancelled(f"Indexing {path.name} was cancelled.")
                try:
                    text = pdf.text(number)
                except PdfError:
                    text = ""  # a damaged page: it counts as one without text
                yield number, text
                if progress:
                    progress(number, pdf.page_count)
        return
    if path.suffix.lower() not in TEXT_SUFFIXES:
        raise DocumentError(
            f"{path.name} is neither a PDF nor a text or Markdown file; attach it as an "
            "image, or save it as PDF first."
        )
    if path.stat().st_size > MAX_TEXT_BYTES:
        raise DocumentError(f"{path.name} is larger than 64 MiB of text; split it first.")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DocumentError(f"{path.name} is not UTF-8 text; save it as UTF-8.") from exc
    pages = split_text_pages(text)
    for number, page in enumerate(pages, start=1):
        yield number, page
        if progress:
            progress(number, len(pages))


def split_text_pages(text: str, size: int = TEXT_PAGE_CHARS) -> list[str]:
    """Cut text into pages of about `size` characters at paragraph (else line) breaks."""
    pages: list[str] = []
    current = ""
    for paragraph in re.split(r"(\n\s*\n)", text):
        if len(current) + len(paragraph) > size and current.strip():
            pages.append(current.strip())
            current = ""
        while len(paragraph) > size:
            cut = paragraph.rfind("\n", 0, size)
            cut = cut if cut > size // 2 else size
            pages.append(paragraph[:cut].strip())
            paragraph = paragraph[cut:]
        current += paragraph
    if current.strip() or not pages:
        pages.append(current.strip())
    return pages


_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE pages (number INTEGER PRIMARY KEY, text TEXT NOT NULL, source TEXT NOT NULL);
CREATE VIRTUAL TABLE pages_fts USING fts5(text, tokenize = 'unicode61 remove_diacritics 2');
"""


def _build(
    path: Path,
    sha: str,
    target: Path,
    password: str | None,
    progress: Progress | None,
    should_stop: ShouldStop,
) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{sha[:16]}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        db = sqlite3.connect(tmp_name)
        try:
            db.executescript(_SCHEMA)
            rows = list(_read_pages(path, password, progress, should_stop))
            _fill(db, path, sha, rows)
            db.commit()
        finally:
            db.close()
        os.replace(tmp_name, target)
        tmp_name = ""
        fsync_folder(target.parent)
    except PdfPasswordError as exc:
        raise DocumentError(str(exc), password_wanted=True) from exc
    except PdfError as exc:
        raise DocumentError(str(exc)) from exc
    except sqlite3.Error as exc:
        raise DocumentError(f"The index of {path.name} could not be written ({exc}).") from exc
    finally:
        if tmp_name:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)


def _fill(db: sqlite3.Connection, path: Path, sha: str, rows: Sequence[tuple[int, str]]) -> None:
    kind = "pdf" if looks_like_pdf(path) else "text"
    meta = {
        "format": str(INDEX_FORMAT),
        "name": path.name,
        "sha256": sha,
        "kind": kind,
        "page_count": str(len(rows)),
    }
    db.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
    db.executemany(
        "INSERT INTO pages VALUES (?, ?, ?)",
        [(number, text, "layer" if text else "") for number, text in rows],
    )
    db.executemany("INSERT INTO pages_fts(rowid, text) VALUES (?, ?)", rows)
