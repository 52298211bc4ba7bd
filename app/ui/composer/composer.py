"""The composer: attachment chips, quick actions, the message box, the context meter, Send.

Every file is checked (decoded with Pillow through `image_facts`) before it becomes a
chip; a file that is not an image, or is damaged, or is one too many for the
per-request limit, gets a sentence under the box instead. A PDF opens the page picker
(`PdfAttacher`); its picked pages become image chips. Each chip shows the tile grid
the processor will use and its token cost, and the context meter counts the whole
request before it is sent: a request past the model's context is not sent.
"""

from __future__ import annotations

import logging
import time
import uuid
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.documents.attachments import is_pdf
from app.documents.quick_actions import (
    DEFAULT_QUICK_ACTIONS,
    QuickActionError,
    load_quick_actions,
)
from app.documents.tiling import MAVERICK, ProcessorSettings, TilingError, tile_grid
from app.inference.images import ImageError, image_facts
from app.paths import data_dir
from app.ui.composer.attachment_chip import AttachmentChip
from app.ui.composer.chip_strip import ChipStrip
from app.ui.composer.composer_input import ComposerInput
from app.ui.composer.context_meter_view import ContextMeterView
from app.ui.composer.fields_toggle import FieldsToggle
from app.ui.composer.pdf_attacher import PdfAttacher
from app.ui.composer.pdf_render_job import DrawnPage
from app.ui.composer.quick_action_bar import QuickActionBar
from app.workers import protocol as p

log = logging.getLogger(__name__)

_IMAGES = "*.png *.jpg *.jpeg *.webp *.gif *.bmp *.tif *.tiff"
IMAGE_FILTER = f"Images and PDFs ({_IMAGES} *.pdf);;Images ({_IMAGES});;PDF (*.pdf);;All files (*)"
METER_DELAY_MS = 150


def resolved(path: Path | str) -> Path:
    """The absolute, link-free path; a symbolic-link loop (`resolve` raises) stays as it is."""
    try:
        return Path(path).resolve()
    except (OSError, RuntimeError):
        return Path(path).absolute()


def attachments_dir() -> Path:
    """Where pasted images are saved so that the worker can read them."""
    return data_dir() / "attachments"


class Composer(QFrame):
    """Where the user writes a message and attaches images; Send turns into Stop."""

    send_requested = Signal(str, list)  # text, image paths
    stop_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("composerBox")
        self.setAccessibleName("Composer")
        self._image_budget = 5  # images this request may still carry
        self._image_limit = 5
        self._generating = False
        self._problems: list[str] | None = None
        self._text_layers: dict[str, str] = {}  # chip path -> text put before the question
        self.settings: ProcessorSettings = MAVERICK
        self.pdf_attacher = PdfAttacher(self._free_slots, self)
        self.pdf_attacher.pages_drawn.connect(self._on_pages_drawn)
        self.pdf_attacher.failed.connect(self._on_pdf_failed)

        self.chip_area = ChipStrip(self)

        self.input = ComposerInput(self)
        self.input.send_requested.connect(self._on_send_requested)
        self.input.files_received.connect(self.add_files)
        self.input.image_pasted.connect(self.add_image)
        self.input.textChanged.connect(self._update_send_enabled)
        self.input.textChanged.connect(self._schedule_meter)

        try:
            actions = load_quick_actions()
        except QuickActionError as exc:
            log.warning("quick actions: %s", exc)
            actions = list(DEFAULT_QUICK_ACTIONS)
        self.quick_actions = QuickActionBar(actions, self)
        self.quick_actions.action_chosen.connect(self._on_action_chosen)
        self.quick_actions.hide()
        self.context_meter = ContextMeterView(self)
        self.context_meter.meter_loaded.connect(self._schedule_meter)
        self._meter_timer = QTimer(self)
        self._meter_timer.setSingleShot(True)
        self._meter_timer.setInterval(METER_DELAY_MS)
        self._meter_timer.timeout.connect(self.refresh_context)

        self.notice = QLabel(self)
        self.notice.setObjectName("composerNotice")
        self.notice.setWordWrap(True)
        self.notice.setAccessibleName("Composer message")
        self.notice.hide()

        self.attach_button = QToolButton(self)
        self.attach_button.setObjectName("attachButton")
        self.attach_button.setText("+  Attach")
        self.attach_button.setAccessibleName("Attach images or PDFs")
        self.attach_button.setToolTip("Attach images or PDF pages (Ctrl+O)")
        self.attach_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.attach_button.clicked.connect(self.open_file_dialog)
        self.fields = FieldsToggle(self)  # the next question answered as fields
        self.send_button = QPushButton("Send", self)
        self.send_button.setObjectName("sendButton")
        self.send_button.setAccessibleName("Send")
        self.send_button.setToolTip("Send (Enter)")
        self.send_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.send_button.clicked.connect(self._on_send_clicked)

        buttons = QHBoxLayout()
        buttons.setSpacing(6)
        buttons.addWidget(self.attach_button)
        buttons.addWidget(self.fields)
        buttons.addStretch(1)
        buttons.addWidget(self.context_meter)
        buttons.addWidget(self.send_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 10, 8)
        layout.setSpacing(6)
        layout.addWidget(self.chip_area)
        layout.addWidget(self.quick_actions)
        layout.addWidget(self.input)
        layout.addWidget(self.notice)
        layout.addLayout(buttons)
        self._update_send_enabled()

    # ------------------------------------------------------------ state
    def text(self) -> str:
        return self.input.toPlainText()

    def attachments(self) -> list[str]:
        return [chip.path for chip in self.chip_area.chips]

    def chips(self) -> list[AttachmentChip]:
        return list(self.chip_area.chips)

    def set_image_budget(self, budget: int, limit: int) -> None:
        """How many images the next request may carry, and the per-request limit."""
        self._image_budget = max(0, budget)
        self._image_limit = limit

    def set_generating(self, generating: bool) -> None:
        """While an answer streams, Send turns into Stop."""
        self._generating = generating
        self.send_button.setText("Stop" if generating else "Send")
        self.send_button.setAccessibleName("Stop generating" if generating else "Send")
        self.send_button.setToolTip("Stop (Esc)" if generating else "Send (Enter)")
        self.send_button.setProperty("stop", "true" if generating else "false")
        self.send_button.style().unpolish(self.send_button)
        self.send_button.style().polish(self.send_button)
        self._update_send_enabled()

    def load(self, text: str, images: list[str]) -> None:
        """Put a message back into the composer (edit and resend)."""
        self.clear()
        self.input.setPlainText(text)
        self.add_files(images)
        self.input.setFocus()

    def set_model_folder(self, folder: Path) -> None:
        """The checkpoint the window talks to: its tiling and tokenizer drive the costs."""
        try:
            self.settings = ProcessorSettings.from_checkpoint(folder)
        except TilingError as exc:
            log.warning("tile settings of %s: %s; using Maverick's", folder, exc)
            self.settings = MAVERICK
        self.pdf_attacher.settings = self.settings
        self.context_meter.set_model_folder(folder, self.settings)
        self._schedule_meter()

    def set_context_limit(self, tokens: int) -> None:
        """The context the meter counts against (a server's); 0 for the checkpoint's own."""
        self.context_meter.set_context_limit(tokens)
        self._schedule_meter()

    def set_history(self, turns: list[p.ChatTurn], answer_tokens: int) -> None:
        """The conversation the next message joins, for the context meter."""
        self.context_meter.set_history(turns, answer_tokens)
        self._schedule_meter()

    def set_documents(self, tokens: int, note: str) -> None:
        """The attached documents' share of the next request, for the context meter."""
        self.context_meter.set_documents(tokens, note)
        self._schedule_meter()

    def set_tools(self, definitions: list[dict[str, Any]]) -> None:
        """The tool definitions the next request carries, for the context meter."""
        self.context_meter.set_tools(definitions)
        self._schedule_meter()

    def shutdown(self) -> None:
        """Stop background work (PDF pages, the tokenizer load) and wait for it."""
        self.pdf_attacher.shutdown()
        self.context_meter.shutdown()

    def refresh_context(self) -> None:
        """Count the request as it stands (history, text, images) and show it."""
        self._meter_timer.stop()
        grids = [self.context_meter.grid_for(chip.path, chip.grid) for chip in self.chip_area.chips]
        self.context_meter.update_request(self._full_text(self.text().strip()), grids)

    def _schedule_meter(self) -> None:
        self._meter_timer.start()

    def clear(self) -> None:
        self.input.clear()
        for chip in list(self.chip_area.chips):
            self._remove_chip(chip)
        self.show_notice("")

    def show_notice(self, text: str) -> None:
        self.notice.setText(text)
        self.notice.setVisible(bool(text))

    # ------------------------------------------------------------ attaching
    def open_file_dialog(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Attach images or PDFs", "", IMAGE_FILTER)
        if paths:
            self.add_files(paths)

    def add_files(self, paths: list[str]) -> None:
        """Attach readable images, pick pages of PDFs; explain the files that cannot be used."""
        problems: list[str] = []
        self._problems = problems  # a PDF refused at once adds its sentence here
        for raw in paths:
            path = Path(raw)
            if resolved(path) in {resolved(p) for p in self.attachments()}:
                continue
            if self._free_slots() <= 0:
                problems.append(self._limit_sentence(path.name))
                continue
            if is_pdf(path):
                self.pdf_attacher.add(path)
                continue
            try:
                facts = image_facts(path)
            except ImageError as exc:
                problems.append(f"Not attached: {exc}")
                continue
            grid = tile_grid(facts.width, facts.height, self.settings)
            self._add_chip(AttachmentChip(facts, grid, "", self))
        self._problems = None
        self.show_notice("\n".join(problems))

    def _free_slots(self) -> int:
        return self._image_budget - len(self.chip_area.chips)

    def _on_pages_drawn(self, pages: list[DrawnPage]) -> None:
        problems: list[str] = []
        for page in pages:
            if self._free_slots() <= 0:
                problems.append(self._limit_sentence(page.label))
                continue
            try:
                facts = image_facts(page.image)
            except ImageError as exc:
                problems.append(f"Not attached: {page.label}: {exc}")
                continue
            grid = tile_grid(facts.width, facts.height, self.settings)
            self._add_chip(AttachmentChip(facts, grid, page.label, self))
            if page.text_layer:
                self._text_layers[str(facts.path)] = page.text_layer
        self.show_notice("\n".join(problems))
        self.input.setFocus()

    def _on_pdf_failed(self, text: str) -> None:
        if self._problems is not None:
            self._problems.append(text)
        else:
            self.show_notice(text)

    def _on_action_chosen(self, prompt: str) -> None:
        self.input.setPlainText(prompt)
        cursor = self.input.textCursor()
        cursor.movePosition(cursor.MoveOperation.End)
        self.input.setTextCursor(cursor)
        self.input.setFocus()

    def add_image(self, image: QImage, source: str = "pasted") -> None:
        """Attach image data (pasted, or a screen capture) by saving it as a PNG first."""
        folder = attachments_dir()
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self.show_notice(f"The {source} image could not be saved in {folder} ({exc}).")
            return
        name = f"{source}-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}.png"
        target = folder / name
        if not image.save(str(target)):  # the format follows the .png suffix
            self.show_notice(
                f"The {source} image could not be saved as {target}; is the disk full?"
            )
            return
        self.add_files([str(target)])

    def _limit_sentence(self, name: str) -> str:
        used = self._image_limit - self._image_budget
        if used > 0:
            return (
                f"Not attached: {name}. This chat already has {used} image(s) and the limit is "
                f"{self._image_limit} per request; start a new chat (Ctrl+N) or raise the limit "
                "in Settings."
            )
        return (
            f"Not attached: {name}. The limit is {self._image_limit} images per request; "
            "remove one or raise the limit in Settings."
        )

    def _add_chip(self, chip: AttachmentChip) -> None:
        chip.remove_requested.connect(self._on_remove_requested)
        self.chip_area.add(chip)
        self.quick_actions.show()
        self._schedule_meter()

    def _remove_chip(self, chip: AttachmentChip) -> None:
        self.chip_area.remove(chip)
        self._text_layers.pop(chip.path, None)
        self.quick_actions.setVisible(bool(self.chip_area.chips))
        self._schedule_meter()

    def _on_remove_requested(self, path: str) -> None:
        for chip in self.chip_area.chips:
            if chip.path == path:
                self._remove_chip(chip)
                self.show_notice("")
                self.input.setFocus()
                return

    # ------------------------------------------------------------ sending
    def _on_send_clicked(self) -> None:
        if self._generating:
            self.stop_requested.emit()
        else:
            self._on_send_requested()

    def _on_send_requested(self) -> None:
        if self._generating:
            return
        text = self.text().strip()
        if not text:
            self.show_notice("Type a question first." if self.chip_area.chips else "")
            return
        gone = [Path(p).name for p in self.attachments() if not Path(p).is_file()]
        if gone:
            self.show_notice(
                f"{', '.join(gone)} was moved or deleted after it was attached. Remove it "
                "(✕) or attach it again, then send."
            )
            return
        self.refresh_context()
        estimate = self.context_meter.estimate
        if estimate is not None and not estimate.fits:
            self.show_notice(estimate.problem() or "")
            return
        images = [str(resolved(path)) for path in self.attachments()]
        self.send_requested.emit(self._full_text(text), images)

    def _full_text(self, text: str) -> str:
        """The question with the text layers of attached PDF pages before it."""
        paths = [chip.path for chip in self.chip_area.chips]
        layers = [self._text_layers[path] for path in paths if path in self._text_layers]
        return "\n\n".join([*layers, text]) if layers else text

    def _update_send_enabled(self) -> None:
        self.send_button.setEnabled(self._generating or bool(self.text().strip()))
