"""The model picker: the checkpoints on this machine, whether they are whole, whether they fit.

Lists what `app.checkpoints.library` discovers (the Hugging Face cache and the user's
folders) with precision, size, completeness and the preflight verdict for this
machine. "Add folder…" remembers another folder to search; "Use this model"
remembers the choice and emits `model_chosen`, on which the worker reloads.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSpinBox,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.checkpoints import library
from app.checkpoints.devices import Device
from app.ui.engine.model_rows import ModelRow, describe_row, library_entries, machine_devices
from app.workers.protocol import DEFAULT_PROMPT_CACHE_ENTRIES, MAX_PROMPT_CACHE_ENTRIES

if TYPE_CHECKING:
    from app.ui.engine.download_dialog import DownloadDialog

log = logging.getLogger(__name__)

COLUMNS = ("Model", "Precision", "Size", "Files", "On this machine")
ATTENTION_CHOICES = (
    ("sdpa", "SDPA (default)"),
    ("flex_attention", "Flex attention (long context)"),
    ("eager", "Eager (reference, slow)"),
)


class ModelPicker(QWidget):
    """Lists the checkpoints; choosing one emits `model_chosen` with its folder."""

    model_chosen = Signal(object)  # Path
    free_cache_requested = Signal()

    def __init__(self, current: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Local models")
        self._current = current
        self._devices: list[Device] | None = None
        self._devices_note = ""
        self.rows: list[ModelRow] = []

        self.tree = QTreeWidget(self)
        self.tree.setAccessibleName("Models found on this machine")
        self.tree.setColumnCount(len(COLUMNS))
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.tree.header()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in (1, 2, 3):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.currentItemChanged.connect(self._on_current_item_changed)
        self.tree.itemActivated.connect(lambda *_: self.choose_selected())

        self.details = QLabel(self)
        self.details.setAccessibleName("Details of the selected model")
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notice = QLabel(self)
        self.notice.setAccessibleName("Model library notice")
        self.notice.setWordWrap(True)
        self.notice.setStyleSheet("color: #b42318;")
        self.notice.hide()

        self.add_button = QPushButton("Add folder…", self)
        self.add_button.setAccessibleName("Add a folder to search for checkpoints")
        self.add_button.clicked.connect(self._on_add_clicked)
        self.download_button = QPushButton("Download…", self)
        self.download_button.setAccessibleName("Download a model from the Hugging Face hub")
        self.download_button.clicked.connect(self.open_download)
        self.download_dialog: DownloadDialog | None = None
        self.refresh_button = QPushButton("Refresh", self)
        self.refresh_button.setAccessibleName("Search for checkpoints again")
        self.refresh_button.clicked.connect(self.refresh)
        self.attention = QComboBox(self)
        self.attention.setAccessibleName("Attention implementation for loading")
        self.attention.setToolTip("How the local worker computes attention; applies when it loads")
        for value, label in ATTENTION_CHOICES:
            self.attention.addItem(label, value)
        attention_label = QLabel("Attention", self)
        attention_label.setBuddy(self.attention)
        self.cache_entries = QSpinBox(self)
        self.cache_entries.setRange(0, MAX_PROMPT_CACHE_ENTRIES)
        self.cache_entries.setValue(DEFAULT_PROMPT_CACHE_ENTRIES)
        self.cache_entries.setSpecialValueText("Off")
        self.cache_entries.setAccessibleName("Conversations whose KV cache the worker keeps")
        self.cache_entries.setToolTip(
            "Follow-up questions in a kept conversation prefill only what is new. Each kept "
            "conversation holds its KV cache in device memory (within half of what is free); "
            "the least recently used goes first. Applies when the model loads."
        )
        cache_label = QLabel("Conversations cached", self)
        cache_label.setBuddy(self.cache_entries)
        self.free_cache_button = QPushButton("Free cache", self)
        self.free_cache_button.setAccessibleName("Free the kept conversations' KV caches now")
        self.free_cache_button.setToolTip(
            "Give the device memory the kept KV caches hold back now; the next question of "
            "each conversation prefills everything again"
        )
        self.free_cache_button.clicked.connect(self.free_cache_requested)
        self.use_button = QPushButton("Use this model", self)
        self.use_button.setAccessibleName("Load the selected model in the local worker")
        self.use_button.setDefault(True)
        self.use_button.setEnabled(False)
        self.use_button.clicked.connect(self.choose_selected)

        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.download_button)
        buttons.addWidget(self.refresh_button)
        buttons.addStretch(1)
        buttons.addWidget(attention_label)
        buttons.addWidget(self.attention)
        buttons.addWidget(cache_label)
        buttons.addWidget(self.cache_entries)
        buttons.addWidget(self.free_cache_button)
        buttons.addWidget(self.use_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.details)
        layout.addWidget(self.notice)
        layout.addLayout(buttons)

    # ------------------------------------------------------------ public
    def set_current(self, path: Path) -> None:
        """The model the worker has loaded (or is loading), shown in bold."""
        self._current = path
        self._mark_current()

    def refresh(self) -> None:
        """Search again: the Hugging Face cache, the user's folders, the model in use."""
        self.notice.hide()
        if self._devices is None:
            self._devices, self._devices_note = machine_devices()
        try:
            chosen = library.chosen_model()
            entries = library_entries([self._current] + ([chosen] if chosen else []))
        except library.LibraryError as exc:
            self.show_notice(str(exc))
            entries = library_entries([self._current]) if self._current.is_dir() else []
        selected = self.selected_path()
        self.rows = [describe_row(entry, self._devices) for entry in entries]
        self.tree.clear()
        for row in self.rows:
            self.tree.addTopLevelItem(self._item(row))
        self._mark_current()
        self.select_path(selected or self._current)
        if not self.rows:
            self.details.setText(
                "No Llama 4 checkpoint found in the Hugging Face cache "
                f"({library.hf_hub_cache()}) or your folders. Download one (Download…), "
                "or add the folder that holds it."
            )

    def add_folder(self, folder: Path) -> None:
        """Remember `folder` as a place to search, then list what it holds."""
        try:
            library.add_folder(folder)
        except library.LibraryError as exc:
            self.show_notice(str(exc))
            return
        self.refresh()
        found = [row for row in self.rows if _inside(row.path, folder)]
        if found:
            self.select_path(found[0].path)
        else:
            self.show_notice(f"No Llama 4 checkpoint in {folder} yet; it is searched on Refresh.")

    def open_download(self) -> DownloadDialog:
        """Show the Download dialog; a finished download is added and selected here."""
        if self.download_dialog is None:
            # imported when first opened: huggingface_hub adds half a second to the start-up
            from app.ui.engine.download_dialog import DownloadDialog

            self.download_dialog = DownloadDialog(self)
            self.download_dialog.model_downloaded.connect(self.add_folder)
        self.download_dialog.show()
        self.download_dialog.raise_()
        return self.download_dialog

    def shutdown(self) -> None:
        """Pause a running download (the window closes; it continues next time)."""
        if self.download_dialog is not None:
            self.download_dialog.shutdown()

    def select_path(self, path: Path | None) -> bool:
        for item in self._items():
            if path is not None and _same(item.data(0, Qt.ItemDataRole.UserRole), path):
                self.tree.setCurrentItem(item)
                return True
        return False

    def attention_choice(self) -> str:
        return str(self.attention.currentData())

    def set_attention(self, value: str) -> None:
        self.attention.setCurrentIndex(max(0, self.attention.findData(value)))

    def show_notice(self, text: str, error: bool = True) -> None:
        """A line under the details: red for a problem, plain for news."""
        self.notice.setStyleSheet("color: #b42318;" if error else "")
        self.notice.setText(text)
        self.notice.show()

    def cache_entries_choice(self) -> int:
        return self.cache_entries.value()

    def set_cache_entries(self, value: int) -> None:
        self.cache_entries.setValue(value)

    def selected_path(self) -> Path | None:
        item = self.tree.currentItem()
        return Path(item.data(0, Qt.ItemDataRole.UserRole)) if item is not None else None

    def choose_selected(self) -> None:
        """Remember the selected checkpoint and ask for it to be loaded."""
        path = self.selected_path()
        if path is None:
            return
        try:
            entry = library.choose_model(path)
        except library.LibraryError as exc:
            self.show_notice(str(exc))
            return
        self.notice.hide()
        self.set_current(entry.path)
        self.model_chosen.emit(entry.path)

    # ------------------------------------------------------------ internals
    def _item(self, row: ModelRow) -> QTreeWidgetItem:
        entry = row.entry
        name = entry.name
        if entry.source != "huggingface" and entry.path.name != entry.name:
            name = f"{entry.path.name} — {entry.name}"  # the folder tells twins apart
        item = QTreeWidgetItem([name, entry.precision, row.size, row.files, row.verdict])
        item.setData(0, Qt.ItemDataRole.UserRole, str(entry.path))
        item.setToolTip(0, str(entry.path))
        item.setToolTip(3, entry.problem or "Every shard is present and readable.")
        item.setToolTip(4, row.details.splitlines()[-1])
        if not entry.ready:
            item.setForeground(3, Qt.GlobalColor.darkRed)
        if row.fits is False:
            item.setForeground(4, Qt.GlobalColor.darkRed)
        return item

    def _mark_current(self) -> None:
        for item in self._items():
            font = QFont(item.font(0))
            font.setBold(_same(item.data(0, Qt.ItemDataRole.UserRole), self._current))
            item.setFont(0, font)

    def _items(self) -> list[QTreeWidgetItem]:
        items = (self.tree.topLevelItem(i) for i in range(self.tree.topLevelItemCount()))
        return [item for item in items if item is not None]

    def _row_for(self, path: Path | None) -> ModelRow | None:
        return next((row for row in self.rows if path is not None and row.path == path), None)

    def _on_current_item_changed(self, current: QTreeWidgetItem | None, *_: object) -> None:
        row = self._row_for(self.selected_path())
        self.use_button.setEnabled(row is not None and row.entry.ready)
        if row is not None:
            in_use = " (in use)" if _same(str(row.path), self._current) else ""
            self.details.setText(row.details + in_use + f"\nDevices: {self._devices_note}.")

    def _on_add_clicked(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder of checkpoints")
        if folder:
            self.add_folder(Path(folder))


def _same(a: str | Path, b: Path) -> bool:
    try:
        return Path(a).resolve() == b.resolve()
    except OSError:
        return False


def _inside(path: Path, folder: Path) -> bool:
    try:
        return path.resolve().is_relative_to(folder.resolve())
    except OSError:
        return False
