"""What Help > About lists: versions of the app, Qt and the worker's runtime, and its devices.

The UI process never imports torch, so torch, transformers, CUDA and the GPUs come
from the worker's `Ready` message; until it arrives they read "(model not loaded)".
"""

from __future__ import annotations

import platform

import PySide6
from PySide6.QtCore import qVersion

from app import __version__
from app.workers import protocol as p

NOT_LOADED = "(model not loaded)"


def about_rows(ready: p.Ready | None) -> list[tuple[str, str]]:
    """(label, value) pairs, in the order the dialog shows them."""
    runtime = ready.runtime if ready is not None else {}

    def worker(key: str) -> str:
        if ready is None:
            return NOT_LOADED
        return runtime.get(key) or "unknown"

    rows = [
        ("Maverick Desk", __version__),
        ("Python", platform.python_version()),
        ("Qt", qVersion()),
        ("PySide6", PySide6.__version__),
        ("torch", worker("torch")),
        ("transformers", worker("transformers")),
        ("CUDA runtime", worker("cuda")),
        ("Attention", worker("attention")),
        # Sparse (only the routed expert runs) or dense; MAVERICK_DESK_EXPERTS chooses.
        ("Experts", worker("experts")),
        # A compiled decode step or transformers' generate; MAVERICK_DESK_COMPILE chooses.
        ("Decode", worker("decode")),
        # Chunked layers window by window, or masked; MAVERICK_DESK_WINDOW_ATTENTION chooses.
        ("Chunked attention", worker("chunked_attention")),
    ]
    if ready is None:
        rows.append(("Devices", NOT_LOADED))
    else:
        devices = ready.devices or ["none reported"]
        rows += [("Devices" if i == 0 else "", d) for i, d in enumerate(devices)]
        rows.append(("Model", f"{ready.name} ({ready.quantisation})"))
    rows.append(("Platform", platform.platform()))
    return rows


def about_text(ready: p.Ready | None) -> str:
    """The rows as plain text, for pasting into a bug report."""
    rows = about_rows(ready)
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"{label:<{width}}  {value}".rstrip() for label, value in rows) + "\n"
