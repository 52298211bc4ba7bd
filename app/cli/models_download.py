"""``maverick-desk models download REPO``: fetch a checkpoint from the hub, with a progress bar.

Ctrl+C pauses: the partial files stay and the same command continues where it stopped
(so does a killed process). When every file is in place and checked, the folder is
added to the model library.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from app.checkpoints import library
from app.checkpoints.checkpoint import human_bytes
from app.downloads.plan import DEFAULT_TOKEN_ENV, MAVERICK_FP8, DownloadError
from app.downloads.progress import CHECKED, CHECKING, FINISHED, Progress

BAR_WIDTH = 28


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "download",
        help="download a checkpoint from the Hugging Face hub (resumable)",
        description=(
            f"Download REPO (for example {MAVERICK_FP8}) from the Hugging Face hub, or the "
            "hub in HF_ENDPOINT. The files and their sizes are read first and the free disk "
            "space checked; each file is checked against the hub's SHA-256 when it is done. "
            "Ctrl+C pauses; run the same command again to continue where it stopped."
        ),
    )
    parser.add_argument("repo", metavar="REPO", help="repository id, owner/name")
    parser.add_argument("--revision", default="main", help="branch, tag or commit (default: main)")
    parser.add_argument(
        "--dir", metavar="D", help="folder to download into (default: the app's models folder)"
    )
    parser.add_argument(
        "--token-env",
        default=DEFAULT_TOKEN_ENV,
        metavar="NAME",
        help="environment variable holding the access token for gated models (default: HF_TOKEN)",
    )
    parser.add_argument(
        "--all-files",
        action="store_true",
        help="also fetch files the app never loads (original/, *.pth, *.bin pickles)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    # huggingface_hub takes half a second to import: only this command pays for it.
    from app.downloads.hub import read_plan, token_from_env
    from app.downloads.transfer import Download

    target = Path(args.dir).expanduser() if args.dir else None
    print(f"Reading the files of {args.repo} ({args.revision}) from the hub…", flush=True)
    try:
        plan = read_plan(args.repo, args.revision, target, args.token_env, args.all_files)
    except DownloadError as exc:
        print(f"maverick-desk models download: {exc}", file=sys.stderr)
        return 1
    have = plan.total_bytes - plan.bytes_missing()
    token = "set" if token_from_env(args.token_env) else "not set"
    print(
        f"{len(plan.files)} files, {human_bytes(plan.total_bytes)}, commit {plan.commit[:10]}, "
        f"into {plan.target} ({args.token_env} {token})."
    )
    if plan.skipped:
        size = human_bytes(sum(f.size for f in plan.skipped))
        print(
            f"Skipping {len(plan.skipped)} files ({size}) the app never loads, such as "
            f"{plan.skipped[0].name} (--all-files fetches them)."
        )
    if have:
        print(f"Continuing: {human_bytes(have)} already here.")
    bar = _Bar(sys.stderr)
    download = Download(plan, bar.show, args.token_env)

    def _on_interrupt(_signum: int, _frame: FrameType | None) -> None:
        download.pause()  # stops after the piece in hand; a second Ctrl+C quits at once
        signal.signal(signal.SIGINT, signal.default_int_handler)
        print("\nPausing…", file=sys.stderr, flush=True)

    previous = signal.signal(signal.SIGINT, _on_interrupt)
    try:
        outcome = download.run()
    except DownloadError as exc:
        bar.end()
        print(f"maverick-desk models download: {exc}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGINT, previous)
    bar.end()
    if outcome != "finished":
        print(f"Paused. Run the same command again to continue ({plan.target}).")
        return 130
    print(f"Downloaded {plan.repo_id} into {plan.target}; every file matches the hub's checksum.")
    try:
        library.add_folder(plan.target)
    except library.LibraryError as exc:
        print(f"It could not be added to the model library: {exc}", file=sys.stderr)
        return 1
    print(f"Added to the model library; choose it with: maverick-desk models --use {plan.target}")
    return 0


class _Bar:
    """A one-line bar on a terminal; elsewhere a line per file and per tenth of the total."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self._printed = False
        self._last_line: tuple[str, int] = ("", -1)

    def show(self, progress: Progress) -> None:
        filled = int(BAR_WIDTH * progress.fraction)
        head = f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {progress.summary()}"
        what = {CHECKING: "checking", CHECKED: "checked", FINISHED: "done"}.get(
            progress.stage, f"{progress.file_fraction:.0%}"
        )
        line = f"{head} · {progress.file} {what}"
        if self.tty:
            self.stream.write("\r" + line[:160].ljust(160))
            self._printed = True
        else:
            key = (progress.file, int(progress.fraction * 10))
            if key == self._last_line:
                return
            self._last_line = key
            self.stream.write(line + "\n")
        self.stream.flush()

    def end(self) -> None:
        if self.tty and self._printed:
            self.stream.write("\n")
            self.stream.flush()
