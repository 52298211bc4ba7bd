"""What a download will fetch: the repository's files, their sizes and checksums.

A plan is read from the hub before anything is written (see `hub.read_plan`); the
disk-space check compares what is still missing in the target folder with the free
space of the disk that will hold it.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

from app.checkpoints.checkpoint import human_bytes
from app.paths import data_dir

MAVERICK_FP8 = "meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8"
PRESETS = (MAVERICK_FP8, "meta-llama/Llama-4-Maverick-17B-128E-Instruct")
DEFAULT_TOKEN_ENV = "HF_TOKEN"  # the variable the access token is read from, unless told
PARTIAL_DIR = ".download"  # inside the target folder: partial files, kept until done
# Files the app never loads (it reads safetensors only and refuses pickles): Meta's
# original consolidated checkpoints and pickled weights. Skipped unless all files are asked for.
UNUSED_PATTERNS = ("original/*", "*.pth", "*.pt", "*.bin", "*.ckpt", "*.msgpack", "*.h5")


class DownloadError(RuntimeError):
    """A download cannot start or go on; the message says what happened and what to do."""


@dataclass(frozen=True)
class RepoFile:
    """One file of the repository as the hub describes it."""

    name: str  # path inside the repository, with / separators
    size: int
    sha256: str | None  # for files stored with LFS (the weights)
    git_sha1: str | None  # the git blob id, for small files stored in git itself

    @property
    def checksum(self) -> str:
        """The hash the finished file must have (SHA-256, else the git blob id)."""
        return self.sha256 or self.git_sha1 or ""


@dataclass(frozen=True)
class DownloadPlan:
    """A repository at one commit, the files to fetch and where they go."""

    repo_id: str
    revision: str  # what the user asked for ("main", a tag, a commit)
    commit: str  # the commit it resolved to: every file comes from this one
    files: tuple[RepoFile, ...]
    target: Path
    endpoint: str
    gated: bool = False
    skipped: tuple[RepoFile, ...] = ()  # in the repository, not fetched (UNUSED_PATTERNS)

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    def final_path(self, file: RepoFile) -> Path:
        return self.target.joinpath(*file.name.split("/"))

    def partial_path(self, file: RepoFile) -> Path:
        """The partial file: named by its checksum, so a changed file never continues an old one."""
        flat = file.name.replace("/", "__")
        return self.target / PARTIAL_DIR / f"{flat}.{file.checksum[:16] or 'nohash'}.part"

    def is_done(self, file: RepoFile) -> bool:
        """Whether `file` is in place (each file is checked before it is moved there)."""
        path = self.final_path(file)
        return path.is_file() and path.stat().st_size == file.size

    def bytes_present(self, file: RepoFile) -> int:
        """How much of `file` is here already: all of it, the partial file's length, or 0."""
        if self.is_done(file):
            return file.size
        partial = self.partial_path(file)
        return min(partial.stat().st_size, file.size) if partial.is_file() else 0

    def bytes_missing(self) -> int:
        return sum(f.size - self.bytes_present(f) for f in self.files)


def split_unused(files: Iterable[RepoFile]) -> tuple[list[RepoFile], list[RepoFile]]:
    """The files the app loads, and those it never does (`UNUSED_PATTERNS`)."""
    kept: list[RepoFile] = []
    unused: list[RepoFile] = []
    for file in files:
        skip = any(fnmatch(file.name, pattern) for pattern in UNUSED_PATTERNS)
        (unused if skip else kept).append(file)
    return kept, unused


def default_target(repo_id: str) -> Path:
    """Where a download goes unless the user names a folder: the data directory's models/."""
    return data_dir() / "models" / repo_id.replace("/", "--")


def free_bytes(folder: Path) -> int:
    """Free space on the disk that holds `folder` (or would, once it is made)."""
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return shutil.disk_usage(probe).free


def check_space(plan: DownloadPlan, free: Callable[[Path], int] = free_bytes) -> None:
    """Raise `DownloadError` unless the disk holding the target has room for what is missing."""
    missing = plan.bytes_missing()
    available = free(plan.target)
    if missing > available:
        have = plan.total_bytes - missing
        already = f" ({human_bytes(have)} already here)" if have else ""
        raise DownloadError(
            f"{plan.repo_id} needs {human_bytes(missing)} more{already}, but the disk holding "
            f"{plan.target} has only {human_bytes(available)} free. Free some space or choose "
            "a folder on another disk."
        )
