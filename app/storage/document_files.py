"""Documents kept with conversations, stored once each under their sha256.

Layout inside the data directory: ``documents/files/ab/abcdef….pdf`` (the first two hex
digits name a subfolder). A conversation refers to its documents by hash, so it keeps
working after the original file moves, changes or vanishes; the page index of the same
bytes (``documents/<sha256>.sqlite``, app.documents.doc_index) is a cache beside it.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import tempfile
from pathlib import Path
from typing import BinaryIO

from app.storage.atomic import fsync_folder
from app.storage.errors import StorageError, describe_os_error
from app.storage.hashed_files import HashedFiles, is_sha256

# The suffixes the document index reads (app.documents.doc_index); others are kept as .bin.
DOCUMENT_SUFFIXES = (".pdf", ".txt", ".md", ".markdown", ".text")
MAX_DOCUMENT_BYTES = 2 * 1024 * 1024 * 1024


def document_suffix(name: str) -> str:
    suffix = Path(name).suffix.lower()
    return suffix if suffix in DOCUMENT_SUFFIXES else ".bin"


class DocumentFiles(HashedFiles):
    """The folder of stored documents; safe to share between processes (writes are atomic)."""

    what = "the stored documents"

    def path_for(self, sha256: str, name: str) -> Path:
        """Where a document with this hash lives (its suffix follows the name's)."""
        if not is_sha256(sha256):
            raise StorageError(f"{sha256!r} is not a sha256 hash; the document cannot be located.")
        return self.root / sha256[:2] / f"{sha256}{document_suffix(name)}"

    def has(self, sha256: str, name: str) -> bool:
        return self.path_for(sha256, name).is_file()

    def add_file(self, source: Path, sha256: str, name: str) -> tuple[Path, bool]:
        """Copy `source` in, checking it still holds `sha256`; (stored path, whether copied).

        A file changed since it was attached has other bytes: StorageError says so and
        nothing is stored.
        """
        target = self.path_for(sha256, name)
        if target.is_file():
            return target, False
        try:
            size = Path(source).stat().st_size
        except OSError as exc:
            raise StorageError(
                f"{name} cannot be saved with the conversation: the file {source} cannot be "
                f"read ({exc.strerror or exc}). Attach it again."
            ) from exc
        if size > MAX_DOCUMENT_BYTES:
            raise StorageError(f"{name} is larger than 2 GiB; it cannot be kept.")
        with open(source, "rb") as handle:
            return target, self._write(handle, target, sha256, name)

    def add_bytes(self, data: bytes, sha256: str, name: str) -> tuple[Path, bool]:
        """Store bytes already checked against their hash (an import); (path, whether made)."""
        target = self.path_for(sha256, name)
        if target.is_file() and target.stat().st_size == len(data):
            return target, False
        return target, self._write(io.BytesIO(data), target, sha256, name)

    def _write(self, handle: BinaryIO, target: Path, sha256: str, name: str) -> bool:
        digest = hashlib.sha256()
        tmp_name = ""
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(
                prefix=f".{sha256[:16]}.", suffix=".tmp", dir=target.parent
            )
            with os.fdopen(fd, "wb") as out:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
                    out.write(block)
                out.flush()
                os.fsync(out.fileno())
            if digest.hexdigest() != sha256:
                raise StorageError(
                    f"{name} changed on disk since it was attached, so it was not saved with "
                    "the conversation. Attach it again."
                )
            os.replace(tmp_name, target)
            tmp_name = ""
            fsync_folder(target.parent)
        except OSError as exc:
            raise describe_os_error(exc, "keep the document with the conversation", target) from exc
        finally:
            if tmp_name:
                with contextlib.suppress(OSError):
                    os.unlink(tmp_name)
        return True
