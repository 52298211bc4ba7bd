"""Export and import from the window: file dialogs, the store's writers, a sentence either way."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog, QWidget

from app.storage import (
    ConversationStore,
    StorageError,
    export_html,
    export_json,
    export_markdown,
    import_json,
)
from app.ui.conversations.conversation_sidebar import ConversationSidebar

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


class TransferHost(Protocol):
    """What transfer needs of the library (ConversationLibrary), without importing it."""

    @property
    def store(self) -> ConversationStore | None: ...
    @property
    def window(self) -> QWidget: ...
    @property
    def sidebar(self) -> ConversationSidebar: ...
    @property
    def current(self) -> int | None: ...
    def notify(self, text: str, problem: bool = False, **action: object) -> None: ...
    def refresh(self) -> None: ...


class ConversationTransfer(QObject):
    """Export and import for the library: dialogs, writing, and a sentence either way."""

    def __init__(self, library: TransferHost, parent: QObject) -> None:
        super().__init__(parent)
        self.library = library

    def export_to(self, cid: int, fmt: str, out: Path) -> Path | None:
        """Write one conversation as Markdown (a folder), HTML or JSON; None on failure."""
        if self.library.store is None:
            return None
        try:
            written = write_export(self.library.store, cid, fmt, out)
        except StorageError as exc:
            self.library.notify(str(exc), problem=True)
            return None
        self.library.notify(f"Exported to {written}.")
        return written

    def import_from(self, path: Path) -> list[int]:
        if self.library.store is None:
            return []
        try:
            ids = import_json(self.library.store, path)
        except StorageError as exc:
            self.library.notify(str(exc), problem=True)
            return []
        self.library.refresh()
        self.library.notify(f"Imported {len(ids)} conversation(s) from {Path(path).name}.")
        return ids

    def on_export_requested(self, cid: int, fmt: str) -> None:
        item = self.library.sidebar.conversations.item_for(cid)
        out = ask_export_path(self.library.window, fmt, item.text() if item is not None else "")
        if out is not None:
            self.export_to(cid, fmt, out)

    def on_export_current_requested(self, fmt: str) -> None:
        if self.library.current is None:
            self.library.notify("Open a saved conversation first, then export it.")
            return
        self.on_export_requested(self.library.current, fmt)

    def on_import_requested(self) -> None:
        path = ask_import_path(self.library.window)
        if path is not None:
            self.import_from(path)


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
