"""``maverick-desk models``: the Llama 4 checkpoints on this machine, and which one is chosen."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from app.checkpoints import library
from app.checkpoints.checkpoint import human_bytes, human_count
from app.cli import models_download


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "models",
        help="list the Llama 4 checkpoints found here, add folders, choose one",
        description=(
            "List Llama 4 checkpoints in the Hugging Face cache and in your folders, with "
            "their size, precision and whether every shard is present. The chosen model "
            "(marked *) is the one the app loads."
        ),
    )
    parser.add_argument(
        "--add", metavar="DIR", help="also search DIR (a checkpoint or a folder of them)"
    )
    parser.add_argument("--remove", metavar="DIR", help="stop searching DIR (its files stay)")
    parser.add_argument("--use", metavar="PATH", help="choose the checkpoint at PATH")
    parser.set_defaults(handler=run)
    actions = parser.add_subparsers(dest="models_command", metavar="ACTION")
    models_download.add_parser(actions)


def _row(entry: library.ModelEntry, chosen: Path | None) -> list[str]:
    mark = "*" if chosen is not None and entry.path.resolve() == chosen else " "
    params = (
        f"{human_count(entry.total_parameters)} / {human_count(entry.active_parameters)} active"
        if entry.total_parameters
        else "?"
    )
    name = entry.name + ("  [demo: random weights]" if entry.is_demo else "")
    return [mark, name, entry.status, params, entry.precision, human_bytes(entry.size_bytes)]


def run(args: argparse.Namespace) -> int:
    try:
        if args.add:
            library.add_folder(args.add)
            print(f"Added {Path(args.add).expanduser().resolve()}.")
        if args.remove:
            library.remove_folder(args.remove)
            print(f"Removed {Path(args.remove).expanduser().resolve()} from the library.")
        if args.use:
            entry = library.choose_model(args.use)
            print(f"Chose {entry.name} ({entry.path}).")
        settings = library.load_settings()
        entries = library.discover(settings)
    except library.LibraryError as exc:
        print(f"maverick-desk models: {exc}", file=sys.stderr)
        return 1
    chosen = Path(settings.chosen) if settings.chosen else None
    if (
        chosen is not None
        and chosen.is_dir()
        and not any(e.path.resolve() == chosen for e in entries)
    ):
        entries.append(library.describe_checkpoint(chosen, "folder"))
    print(f"Hugging Face cache: {library.hf_hub_cache()}")
    print("Your folders: " + (", ".join(settings.folders) or "none (add one with --add DIR)"))
    if not entries:
        print(
            "No Llama 4 checkpoint found. Download one with `maverick-desk models download "
            "meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8`, or add its folder with --add DIR."
        )
        return 0
    rows = [["", "name", "status", "parameters", "precision", "size"]]
    rows += [_row(entry, chosen) for entry in entries]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    for entry in entries:
        print(f"\n{entry.name}\n  {entry.path}")
        if entry.problem:
            print(f"  {entry.status}: {entry.problem}")
    if chosen is not None and not any(e.path.resolve() == chosen for e in entries):
        print(f"\nThe chosen model {chosen} is gone; choose another with --use PATH.")
    return 0
