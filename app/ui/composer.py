"""The composer: attached-image chips, the message box, Attach and Send/Stop.

Every file is checked (decoded with Pillow through `image_facts`) before it becomes a
chip; a file that is not an image, or is damaged, or is one too many for the
per-request limit, gets a sentence under the box instead.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from PySide6.QtCore import Qt, Signal
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

from app.inference.images import ImageError, image_facts
from app.paths import data_dir
from app.ui.attachment_chip import AttachmentChip
from app.ui.composer_input import ComposerInput

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.webp *.gif *.bmp *.tif *.tiff);;All files (*)"


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
        self._chips: list[AttachmentChip] = []
        self._image_budget = 5  # images this request may still carry
        self._image_limit = 5
        self._generating = False

        self._chip_row = QHBoxLayout()
        self._chip_row.setSpacing(6)
        self._chip_row.addStretch(1)
        self.chip_area = QWidget(self)
        self.chip_area.setLayout(self._chip_row)
        self._chip_row.setContentsMargins(0, 0, 0, 0)
        self.chip_area.hide()

        self.input = ComposerInput(self)
        self.input.send_requested.connect(self._on_send_requested)
        self.input.files_received.connect(self.add_files)
        self.input.image_pasted.connect(self.add_image)
        self.input.textChanged.connect(self._update_send_enabled)

        self.notice = QLabel(self)
        self.notice.setObjectName("composerNotice")
        self.notice.setWordWrap(True)
        self.notice.setAccessibleName("Composer message")
        self.notice.hide()

        self.attach_button = QToolButton(self)
        self.attach_button.setObjectName("attachButton")
        self.attach_button.setText("+  Attach image")
        self.attach_button.setAccessibleName("Attach images")
        self.attach_button.setToolTip("Attach images (Ctrl+O)")
        self.attach_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.attach_button.clicked.connect(self.open_file_dialog)
        self.send_button = QPushButton("Send", self)
        self.send_button.setObjectName("sendButton")
        self.send_button.setAccessibleName("Send")
        self.send_button.setToolTip("Send (Enter)")
        self.send_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.send_button.clicked.connect(self._on_send_clicked)

        buttons = QHBoxLayout()
        buttons.setSpacing(6)
        buttons.addWidget(self.attach_button)
        buttons.addStretch(1)
        buttons.addWidget(self.send_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 10, 8)
        layout.setSpacing(6)
        layout.addWidget(self.chip_area)
        layout.addWidget(self.input)
        layout.addWidget(self.notice)
        layout.addLayout(buttons)
        self._update_send_enabled()

    # ------------------------------------------------------------ state
    def text(self) -> str:
        return self.input.toPlainText()

    def attachments(self) -> list[str]:
        return [chip.path for chip in self._chips]

    def chips(self) -> list[AttachmentChip]:
        return list(self._chips)

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

    def clear(self) -> None:
        self.input.clear()
        for chip in list(self._chips):
            self._remove_chip(chip)
        self.show_notice("")

    def show_notice(self, text: str) -> None:
        self.notice.setText(text)
        self.notice.setVisible(bool(text))

    # ------------------------------------------------------------ attaching
    def open_file_dialog(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Attach images", "", IMAGE_FILTER)
        if paths:
            self.add_files(paths)

    def add_files(self, paths: list[str]) -> None:
        """Attach the files that are readable images; explain the ones that are not."""
        problems: list[str] = []
        for raw in paths:
            path = Path(raw)
            if resolved(path) in {resolved(p) for p in self.attachments()}:
                continue
            if len(self._chips) >= self._image_budget:
                problems.append(self._limit_sentence(path.name))
                continue
            try:
                facts = image_facts(path)
            except ImageError as exc:
                problems.append(f"Not attached: {exc}")
                continue
            self._add_chip(AttachmentChip(facts, self))
        self.show_notice("\n".join(problems))

    def add_image(self, image: QImage) -> None:
        """Attach image data (from the clipboard) by saving it as a PNG first."""
        folder = attachments_dir()
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self.show_notice(f"The pasted image could not be saved in {folder} ({exc}).")
            return
        name = f"pasted-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}.png"
        target = folder / name
        if not image.save(str(target)):  # the format follows the .png suffix
            self.show_notice(f"The pasted image could not be saved as {target}; is the disk full?")
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
        self._chips.append(chip)
        self._chip_row.insertWidget(self._chip_row.count() - 1, chip)
        self.chip_area.show()

    def _remove_chip(self, chip: AttachmentChip) -> None:
        self._chips.remove(chip)
        self._chip_row.removeWidget(chip)
        chip.deleteLater()
        self.chip_area.setVisible(bool(self._chips))

    def _on_remove_requested(self, path: str) -> None:
        for chip in self._chips:
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
            self.show_notice("Type a question first." if self._chips else "")
            return
        gone = [Path(p).name for p in self.attachments() if not Path(p).is_file()]
        if gone:
            self.show_notice(
                f"{', '.join(gone)} was moved or deleted after it was attached. Remove it "
                "(✕) or attach it again, then send."
            )
            return
        self.send_requested.emit(text, [str(resolved(p)) for p in self.attachments()])

    def _update_send_enabled(self) -> None:
        self.send_button.setEnabled(self._generating or bool(self.text().strip()))
