"""Fetching a planned download: resumable, pausable, checked.

Each file is written to a partial file in ``<target>/.download/`` and continued from
its length with an HTTP Range request (`huggingface_hub.file_download.http_get`, which
also retries a broken connection from where it broke). `hf_hub_download` is not used
because it deletes its partial file when a download fails or the process dies; here
the partial file stays, so a paused, failed or killed download goes on next time.
A finished file is checked against the hub's size and checksum, then moved in place.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import IO, Any, BinaryIO, Literal, cast
from urllib.parse import urlparse

from huggingface_hub import constants, get_hf_file_metadata, hf_hub_url
from huggingface_hub.file_download import http_get
from huggingface_hub.utils import build_hf_headers  # type: ignore[attr-defined]
from huggingface_hub.utils.tqdm import silent_tqdm

from app.checkpoints.checkpoint import human_bytes
from app.downloads.checksums import file_checksum
from app.downloads.hub import describe_error, token_from_env
from app.downloads.plan import (
    DEFAULT_TOKEN_ENV,
    PARTIAL_DIR,
    DownloadError,
    DownloadPlan,
    RepoFile,
    check_space,
    free_bytes,
)
from app.downloads.progress import (
    CHECKED,
    CHECKING,
    DOWNLOADING,
    FINISHED,
    Progress,
    SpeedMeter,
)

log = logging.getLogger(__name__)

Outcome = Literal["finished", "paused", "cancelled"]
_Stop = Literal["paused", "cancelled", "failed"]
# Files fetched at once: one HTTP stream rarely fills a fast line (huggingface_hub's
# snapshot_download uses 8); each stream is one partial file, continued on its own.
PARALLEL_FILES = 4
# huggingface_hub reads the response in 10 MiB pieces; smaller ones make Pause and the
# progress prompt on a slow line and keep less unwritten in memory when the process dies.
CHUNK_BYTES = 256 * 1024
REPORT_EVERY_S = 0.2


class _Stopped(Exception):
    """Raised inside a write to leave `http_get` when Pause or Cancel was pressed."""


class Download:
    """One download of a plan; `run` in any thread, `pause` and `cancel` from another."""

    def __init__(
        self,
        plan: DownloadPlan,
        on_progress: Callable[[Progress], None] | None = None,
        token_env: str = DEFAULT_TOKEN_ENV,
        free: Callable[[Path], int] = free_bytes,
    ) -> None:
        self.plan = plan
        self.token_env = token_env
        self._on_progress = on_progress
        self._free = free
        self._stop: _Stop | None = None
        self._lock = threading.RLock()  # counters, the meter and the progress callback
        self._meter = SpeedMeter()
        self._done = 0
        self._files_done = 0
        self._last_report: dict[str, float] = {}

    def pause(self) -> None:
        """Stop after the piece in hand; the partial files stay for the next run."""
        with self._lock:
            self._stop = self._stop or "paused"

    def cancel(self) -> None:
        """Stop and delete the partial files (finished files stay)."""
        with self._lock:
            self._stop = "cancelled"

    def run(self) -> Outcome:
        """Fetch every missing file; returns how it ended or raises `DownloadError`."""
        plan = self.plan
        check_space(plan, self._free)
        try:
            with _exclusive(plan.target / PARTIAL_DIR):
                outcome = self._run_files()
        except DownloadError:
            raise
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise DownloadError(
                    f"The disk holding {plan.target} is full ({human_bytes(self._done)} of "
                    f"{human_bytes(plan.total_bytes)} downloaded, kept). Free some space and "
                    "start the download again: it continues where it stopped."
                ) from exc
            log.warning("downloading %s failed", plan.repo_id, exc_info=True)
            raise describe_error(exc, plan.repo_id, plan.revision, self.token_env) from exc
        except Exception as exc:  # noqa: BLE001 (a sentence for every failure; traceback logged)
            log.warning("downloading %s failed", plan.repo_id, exc_info=True)
            raise describe_error(exc, plan.repo_id, plan.revision, self.token_env) from exc
        if outcome == "cancelled":
            discard_partials(plan)
        elif outcome == "finished":
            shutil.rmtree(plan.target / PARTIAL_DIR, ignore_errors=True)
        return outcome

    # ------------------------------------------------------------ internals
    def _run_files(self) -> Outcome:
        plan = self.plan
        self._done = sum(plan.bytes_present(f) for f in plan.files)
        todo = [(i, f) for i, f in enumerate(plan.files) if not plan.is_done(f)]
        self._files_done = len(plan.files) - len(todo)
        failures: list[BaseException] = []
        with ThreadPoolExecutor(PARALLEL_FILES, thread_name_prefix="download") as pool:
            futures = [pool.submit(self._one_file, index, file) for index, file in todo]
            for future in as_completed(futures):
                failure = future.exception()
                if failure is not None and not failures:
                    failures.append(failure)
                    with self._lock:
                        self._stop = self._stop or "failed"  # the other files stop too
        if failures:
            raise failures[0]
        if self._stop == "paused" or self._stop == "cancelled":
            return self._stop
        last = plan.files[-1]
        self._report(len(plan.files) - 1, last, last.size, force=True, stage=FINISHED)
        return "finished"

    def _one_file(self, index: int, file: RepoFile) -> None:
        if self._stop:
            return
        try:
            self._fetch(index, file)
        except _Stopped:
            return
        self._report(index, file, file.size, force=True, stage=CHECKING)
        self._check_and_move(file)
        with self._lock:
            self._files_done += 1
            self._report(index, file, file.size, force=True, stage=CHECKED)

    def _fetch(self, index: int, file: RepoFile) -> None:
        plan = self.plan
        partial = plan.partial_path(file)
        partial.parent.mkdir(parents=True, exist_ok=True)
        present = partial.stat().st_size if partial.is_file() else 0
        if present > file.size:  # longer than the file can be: not ours to continue
            partial.unlink()
            with self._lock:
                self._done -= file.size
            present = 0
        token = token_from_env(self.token_env)
        url = hf_hub_url(plan.repo_id, file.name, revision=plan.commit, endpoint=plan.endpoint)
        meta = get_hf_file_metadata(url, token=token)
        if meta.size is not None and meta.size != file.size:
            raise DownloadError(
                f"The hub now gives {file.name} as {meta.size:,} bytes, not {file.size:,}: "
                "read the file list again."
            )
        headers = build_hf_headers(token=token)
        headers["Accept-Encoding"] = "identity"  # bytes as stored: Range offsets and sizes hold
        location = meta.location or url
        if urlparse(location).netloc != urlparse(url).netloc:
            headers.pop("authorization", None)  # a signed CDN address needs no token
        self._report(index, file, present, force=True)
        constants.DOWNLOAD_CHUNK_SIZE = CHUNK_BYTES
        with partial.open("ab") as raw:
            writer = _ProgressWriter(raw, present, functools.partial(self._wrote, index, file))
            http_get(
                location,
                cast(BinaryIO, writer),
                resume_size=present,
                headers=headers,
                expected_size=file.size,
                displayed_filename=file.name,
                tqdm_class=cast(Any, silent_tqdm),
            )

    def _wrote(self, index: int, file: RepoFile, nbytes: int, file_done: int) -> None:
        if self._stop:
            raise _Stopped
        with self._lock:
            self._done += nbytes
            if nbytes > 0:
                self._meter.add(time.monotonic(), nbytes)
            self._report(index, file, file_done)

    def _check_and_move(self, file: RepoFile) -> None:
        plan = self.plan
        partial = plan.partial_path(file)
        size = partial.stat().st_size
        actual = file_checksum(partial, file) if size == file.size else ""
        if size != file.size or actual != file.checksum:
            partial.unlink()
            kind = "SHA-256" if file.sha256 else "git hash"
            what = (
                f"{kind} {actual[:12]}… where the hub gives {file.checksum[:12]}…"
                if size == file.size
                else f"{size:,} bytes where the hub gives {file.size:,}"
            )
            raise DownloadError(
                f"{file.name} arrived damaged ({what}). The damaged copy was deleted; start "
                "the download again to fetch it anew."
            )
        final = plan.final_path(file)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(partial, final)

    def _report(
        self,
        index: int,
        file: RepoFile,
        file_done: int,
        force: bool = False,
        stage: str = DOWNLOADING,
    ) -> None:
        now = time.monotonic()
        if self._on_progress is None:
            return
        with self._lock:  # each file reports at most every REPORT_EVERY_S, one at a time
            if not force and now - self._last_report.get(file.name, 0.0) < REPORT_EVERY_S:
                return
            self._last_report[file.name] = now
            total = self.plan.total_bytes
            self._on_progress(
                Progress(
                    file=file.name,
                    file_done=file_done,
                    file_total=file.size,
                    done=self._done,
                    total=total,
                    files_done=self._files_done,
                    files_total=len(self.plan.files),
                    speed=self._meter.speed(),
                    eta_s=self._meter.eta(total - self._done),
                    stage=stage,
                )
            )


class _ProgressWriter:
    """The partial file as `http_get` writes it: counts what lands on disk, can stop it."""

    def __init__(self, raw: IO[bytes], present: int, wrote: Callable[[int, int], None]) -> None:
        self._raw = raw
        self._wrote = wrote  # (bytes just written, bytes of the file on disk); may raise _Stopped
        self.file_done = present

    def write(self, chunk: bytes) -> int:
        self._wrote(0, self.file_done)  # raises _Stopped before anything more is written
        written = self._raw.write(chunk)
        self.file_done += written
        self._wrote(written, self.file_done)
        return written

    def tell(self) -> int:
        return self._raw.tell()

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._raw.seek(offset, whence)

    def truncate(self, size: int | None = None) -> int:
        """The server ignored the Range request and sends the whole file: start it again."""
        kept = self._raw.truncate(size)
        lost, self.file_done = self.file_done - kept, kept
        self._wrote(-lost, kept)
        return kept


def discard_partials(plan: DownloadPlan) -> None:
    """Delete the partial files of a download into `plan.target` (what Cancel does)."""
    shutil.rmtree(plan.target / PARTIAL_DIR, ignore_errors=True)


def has_partials(target: Path) -> bool:
    """Whether an unfinished download into `target` left partial files to continue."""
    return any((target / PARTIAL_DIR).glob("*.part"))


@contextlib.contextmanager
def _exclusive(folder: Path) -> Iterator[None]:
    """Hold the folder's lock: two downloads appending to one partial file would spoil it."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "lock").open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DownloadError(
                f"Another download into {folder.parent} is running (in the window or "
                "`maverick-desk models download`); pause it or wait for it to finish."
            ) from None
        yield
