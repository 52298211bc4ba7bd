"""The hashes the hub gives for a file: SHA-256 for LFS files, the git blob id for the rest."""

from __future__ import annotations

import hashlib
from pathlib import Path

from app.downloads.plan import RepoFile

_BLOCK = 4 * 1024 * 1024


def file_checksum(path: Path, file: RepoFile) -> str:
    """The hash of `path` in the kind the hub gives for `file` (hex)."""
    if file.sha256:
        digest = hashlib.sha256()
    else:  # git hashes "blob <size>\0" followed by the content
        digest = hashlib.sha1(usedforsecurity=False)
        digest.update(f"blob {path.stat().st_size}\0".encode())
    with path.open("rb") as handle:
        while block := handle.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()
