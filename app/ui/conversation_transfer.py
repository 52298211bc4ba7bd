"""Export and import from the window: the file dialogs and the store's writers."""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QWidget

from app.storage import ConversationStore, export_html, export_json, export_markdown

EXPORT_FILTERS = {"html": "HTML file (*.html)", "json": "JSON export (*.json)"}
_UNSAFE = re.compile(r"[^\w\- ]+", re.UNICODE)


def suggested_name(title: str) -> str:
    """A file name from a conversation title: letters, digits, spaces and dashes only."""
    name = " ".join(_UNSAFE.sub(" ", title).split())[:60].strip()
    return name or "conversation"


def write_export(store: ConversationStore, cid: int, fmt: str, out: Path) -> Path:
    """Markdown (a new folder), HTML or JSON; returns what was written. Raises StorageError."""
    if fmt == "md":
        return export_markdown(store, cid, out)
    if fmt == "html":
        return export_html(store, cid, out)
    return export_json(store, [cid], out)


def ask_export_path(parent: QWidget, fmt: str, title: str) -> Path | None:
    name = suggested_name(title)
    if fmt == "md":
        out = QFileDialog.getSaveFileName(parent, "Export as Markdown: name a new folder", name)
    else:
        out = QFileDialog.getSaveFileName(
            parent, "Export the conversation", f"{name}.{fmt}", EXPORT_FILTERS[fmt]
        )
    return Path(out[0]) if out[0] else None


def ask_import_path(parent: QWidget) -> Path | None:
    path = QFileDialog.getOpenFileName(
        parent, "Import conversations", "", "Maverick Desk export (*.json)"
    )[0]
    return Path(path) if path else None
