"""The page picker for a PDF: thumbnails, a page range, the password, the text layer.

The dialog opens the PDF itself (so an encrypted one asks for its password first, and a
wrong password is said so), shows a tile per page with its thumbnail drawn in the
background, and keeps the ticked pages and the range box in step: typing `1-3,7` ticks
those pages; ticking a page rewrites the range.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QSize, Qt, QThreadPool, QTimer
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.documents.page_ranges import (
    PageRangeError,
    default_pages,
    format_page_ranges,
    parse_page_ranges,
)
from app.documents.pdf import PdfError, PdfFile, PdfPasswordError
from app.ui.background.pool_job import PoolJob
from app.ui.composer.pdf_thumbnail_job import thumbnail_job

log = logging.getLogger(__name__)

THUMB_SIDE = 132


class PdfPageDialog(QDialog):
    """Pick the pages of one PDF to attach; `pages`, `password`, `text_layer` when accepted."""

    def __init__(self, path: Path, image_budget: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path = path
        self.password: str | None = None
        self.page_count = 0
        self.error = ""  # set when the PDF cannot be used at all
        self._budget = max(0, image_budget)
        self._job: PoolJob | None = None
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._syncing = False
        self._stopped = False
        self._thumbnails_finished = False
        self.setWindowTitle(f"Attach pages of {path.name}")
        self.setAccessibleName(f"Pick pages of {path.name}")
        self.resize(760, 560)

        self.heading = QLabel(path.name, self)
        self.heading.setObjectName("pickerHeading")
        self.heading.setWordWrap(True)

        self.password_box = QWidget(self)
        self.password_message = QLabel(self.password_box)
        self.password_message.setWordWrap(True)
        self.password_message.setAccessibleName("Password message")
        self.password_edit = QLineEdit(self.password_box)
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_edit.setAccessibleName("PDF password")
        self.password_edit.setPlaceholderText("Password")
        self.unlock_button = QPushButton("Unlock", self.password_box)
        self.unlock_button.setAccessibleName("Unlock the PDF")
        self.unlock_button.clicked.connect(self._on_unlock_clicked)
        password_row = QHBoxLayout()
        password_row.addWidget(self.password_edit, 1)
        password_row.addWidget(self.unlock_button)
        password_layout = QVBoxLayout(self.password_box)
        password_layout.setContentsMargins(0, 0, 0, 0)
        password_layout.addWidget(self.password_message)
        password_layout.addLayout(password_row)
        self.password_box.hide()

        self.page_list = QListWidget(self)
        self.page_list.setAccessibleName("Pages")
        self.page_list.setViewMode(QListView.ViewMode.IconMode)
        self.page_list.setResizeMode(QListView.ResizeMode.Adjust)
        self.page_list.setMovement(QListView.Movement.Static)
        self.page_list.setIconSize(QSize(THUMB_SIDE, THUMB_SIDE))
        self.page_list.setGridSize(QSize(THUMB_SIDE + 24, THUMB_SIDE + 40))
        self.page_list.setUniformItemSizes(True)
        self.page_list.itemChanged.connect(self._on_item_changed)

        self.range_edit = QLineEdit(self)
        self.range_edit.setAccessibleName("Page range")
        self.range_edit.setPlaceholderText("for example 1-3,7")
        self.range_edit.textEdited.connect(self._on_range_edited)
        self.text_layer_check = QCheckBox("Also send the text layer of these pages", self)
        self.text_layer_check.setAccessibleName("Also send the text layer")
        self.text_layer_check.setToolTip(
            "The PDF's selectable text goes before your question, so the model can quote it "
            "exactly. Scanned pages have none."
        )
        form = QFormLayout()
        form.addRow("&Pages:", self.range_edit)
        form.addRow("", self.text_layer_check)

        self.message = QLabel(self)
        self.message.setObjectName("pickerMessage")
        self.message.setWordWrap(True)
        self.message.setAccessibleName("Page picker message")

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Attach pages")
        self.ok_button.setAccessibleName("Attach the picked pages")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.password_box)
        layout.addWidget(self.page_list, 1)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self._open(None)

    # ------------------------------------------------------------ opening
    def _open(self, password: str | None) -> None:
        try:
            with PdfFile(self.path, password) as pdf:
                self.page_count = pdf.page_count
        except PdfPasswordError as exc:
            self._ask_password(str(exc))
            return
        except PdfError as exc:
            self._show_broken(str(exc))
            return
        self.password = password
        self.password_box.hide()
        self.unlock_button.setDefault(False)
        self.ok_button.setDefault(True)
        self._fill_pages()

    def _ask_password(self, text: str) -> None:
        self.password_message.setText(text)
        self.password_box.show()
        self.page_list.setEnabled(False)
        self.range_edit.setEnabled(False)
        self.ok_button.setEnabled(False)
        # Enter in the password box unlocks; it must not attach the default pages too.
        self.ok_button.setDefault(False)
        self.unlock_button.setDefault(True)
        self.password_edit.selectAll()
        self.password_edit.setFocus()

    def _show_broken(self, text: str) -> None:
        self.error = text
        self.heading.setText(f"{self.path.name} cannot be used")
        self.message.setText(text)
        self.page_list.setEnabled(False)
        self.range_edit.setEnabled(False)
        self.text_layer_check.setEnabled(False)
        self.ok_button.setEnabled(False)

    def _on_unlock_clicked(self) -> None:
        self._open(self.password_edit.text())

    def _fill_pages(self) -> None:
        count = self.page_count
        self.heading.setText(
            f"{self.path.name}: {count} page{'' if count == 1 else 's'}. Pick up to "
            f"{self._budget} (each page is sent as one image)."
        )
        placeholder = QPixmap(THUMB_SIDE * 3 // 4, THUMB_SIDE)
        placeholder.fill(Qt.GlobalColor.white)
        self._syncing = True
        for number in range(1, count + 1):
            item = QListWidgetItem(QIcon(placeholder), f"Page {number}")
            item.setData(Qt.ItemDataRole.UserRole, number)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.page_list.addItem(item)
        self._syncing = False
        self.page_list.setEnabled(True)
        self.range_edit.setEnabled(True)
        self.set_pages(default_pages(count, self._budget))
        self.page_list.setFocus()
        job = thumbnail_job(self.path, self.password, list(range(1, count + 1)), THUMB_SIDE)
        job.signals.reported.connect(self._on_thumbnail_drawn)
        job.signals.failed.connect(self._on_thumbnails_failed)
        job.signals.finished.connect(self._on_thumbnails_finished)
        self._job = job
        QTimer.singleShot(0, self, self._start_thumbnails)  # once the dialog is up

    def _start_thumbnails(self) -> None:
        if self._job is not None and not self._stopped:
            self._job.start_on(self._pool)

    # ------------------------------------------------------------ pages
    def pages(self) -> list[int]:
        """The ticked pages, in order."""
        return [
            int(item.data(Qt.ItemDataRole.UserRole))
            for item in (self.page_list.item(i) for i in range(self.page_list.count()))
            if item.checkState() == Qt.CheckState.Checked
        ]

    def text_layer(self) -> bool:
        return self.text_layer_check.isChecked()

    def set_pages(self, pages: list[int]) -> None:
        """Tick exactly `pages` and write them in the range box."""
        wanted = set(pages)
        self._tick(wanted)
        self.range_edit.setText(format_page_ranges(sorted(wanted)))
        self._check_pages()

    def _on_range_edited(self, text: str) -> None:
        try:
            pages = parse_page_ranges(text, self.page_count) if text.strip() else []
        except PageRangeError as exc:
            self.message.setText(str(exc))
            self.ok_button.setEnabled(False)
            return
        self._tick(set(pages))
        self._check_pages()

    def _tick(self, wanted: set[int]) -> None:
        """Check exactly the items of the `wanted` pages, without echoing into the range box."""
        self._syncing = True
        for index in range(self.page_list.count()):
            item = self.page_list.item(index)
            checked = int(item.data(Qt.ItemDataRole.UserRole)) in wanted
            item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
        self._syncing = False

    def _on_item_changed(self, item: QListWidgetItem) -> None:
        if self._syncing:
            return
        self.range_edit.setText(format_page_ranges(self.pages()))
        self._check_pages()

    def _check_pages(self) -> None:
        picked = len(self.pages())
        if picked == 0:
            self.message.setText("Tick at least one page, or type a range such as 1-3,7.")
        elif picked > self._budget:
            self.message.setText(
                f"{picked} pages picked, but only {self._budget} more image"
                f"{'' if self._budget == 1 else 's'} fit in this request. Pick fewer pages, "
                "or raise the image limit in Settings."
            )
        else:
            self.message.setText(f"{picked} page{'' if picked == 1 else 's'} picked.")
        self.ok_button.setEnabled(0 < picked <= self._budget)

    # ------------------------------------------------------------ thumbnails
    def _on_thumbnail_drawn(self, drawn: tuple[int, QImage]) -> None:
        number, image = drawn
        item = self.page_list.item(number - 1)
        if item is not None:
            self._syncing = True  # an icon is not a change of the ticked pages
            item.setIcon(QIcon(QPixmap.fromImage(image)))
            self._syncing = False

    def _on_thumbnails_failed(self, path: Path, exc: Exception) -> None:
        log.warning("thumbnails of %s stopped: %s", path, exc)
        self.message.setText(f"Some thumbnails could not be drawn: {exc}")

    def _on_thumbnails_finished(self) -> None:
        self._thumbnails_finished = True

    def thumbnails_done(self) -> bool:
        """True once the background job has drawn every thumbnail (or none is wanted)."""
        return self._job is None or self._thumbnails_finished

    def done(self, result: int) -> None:
        """Stop the thumbnail job and wait for it, so no thread outlives the dialog."""
        self._stopped = True
        if self._job is not None:
            self._job.stop()
        self._pool.waitForDone()
        super().done(result)
