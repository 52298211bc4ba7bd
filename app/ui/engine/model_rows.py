"""What the model picker shows for each checkpoint: plain data, worked out without Qt or torch.

Each row carries the library entry, whether every file is there (or what is missing)
and the preflight verdict for this machine's GPUs (or its CPU when there is none).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

from app.checkpoints import library
from app.checkpoints.checkpoint import CheckpointError, human_bytes, human_count, inspect_checkpoint
from app.checkpoints.devices import Device, cpu_device, detect_gpus
from app.checkpoints.preflight import model_memory, preflight

log = logging.getLogger(__name__)

_MISSING_SHARDS = re.compile(r"(\d+) of (\d+) weight shards .* \(first: ([^)]+)\)")


@dataclass(frozen=True)
class ModelRow:
    """One line of the picker and the details shown when it is selected."""

    entry: library.ModelEntry
    files: str  # "complete", or what is wrong
    verdict: str  # short: "fits: about N tokens", "does not fit", "not checked"
    fits: bool | None  # None when the checkpoint cannot be checked
    details: str  # the whole story: where, parameters, problem or preflight summary

    @property
    def path(self) -> Path:
        return self.entry.path

    @property
    def size(self) -> str:
        return human_bytes(self.entry.size_bytes)


def machine_devices() -> tuple[list[Device], str]:
    """The GPUs the worker would see, else the CPU; and how they were found."""
    devices, note = detect_gpus()
    if devices:
        return devices, note
    return [cpu_device()], f"{note}; the model would run on the CPU"


def library_entries(extra: list[Path]) -> list[library.ModelEntry]:
    """Every discovered checkpoint, plus `extra` folders (the one in use, the chosen one)."""
    entries = library.discover()
    known = {entry.path.resolve() for entry in entries}
    for folder in extra:
        if folder.is_dir() and folder.resolve() not in known:
            known.add(folder.resolve())
            entries.append(library.describe_checkpoint(folder, "folder"))
    return entries


def describe_row(entry: library.ModelEntry, devices: list[Device]) -> ModelRow:
    params = (
        f"{human_count(entry.total_parameters)} parameters, "
        f"{human_count(entry.active_parameters)} active"
        if entry.total_parameters
        else "parameters unknown"
    )
    head = f"{entry.name} — {entry.path}\n{entry.architecture}, {params}, {entry.precision}."
    if entry.is_demo:
        head += " Demo checkpoint: random weights, for trying the app."
    if not entry.ready:
        details = f"{head}\n{entry.problem}"
        return ModelRow(entry, _short(entry.problem), "not checked", None, details)
    try:
        info = inspect_checkpoint(entry.path)
        result = preflight(model_memory(info), devices)
    except (CheckpointError, ValueError, KeyError) as exc:
        log.warning("preflight of %s failed: %s", entry.path, exc)
        return ModelRow(entry, "complete", "not checked", None, f"{head}\nPreflight failed: {exc}")
    verdict = f"fits: about {result.context:,} tokens" if result.fits else "does not fit"
    return ModelRow(entry, "complete", verdict, result.fits, f"{head}\n{result.summary()}")


def _short(problem: str, limit: int = 70) -> str:
    """The problem in a few words for the Files column (the details hold all of it)."""
    shards = _MISSING_SHARDS.search(problem)
    if shards:
        count, total, first = shards.groups()
        return f"{count} of {total} shards missing ({first})"
    first = problem.split(". ")[0].rstrip(".")
    return first if len(first) <= limit else first[: limit - 1] + "…"
