"""The row of attachment chips over the message box; many chips scroll sideways."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QScrollArea, QWidget

from app.ui.composer.attachment_chip import AttachmentChip


class ChipStrip(QScrollArea):
    """Holds the chips in order; hidden while empty.

    Scrolling rather than squeezing keeps each chip's name and token cost readable.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.chips: list[AttachmentChip] = []
        self._follow_new_chip = False
        self._row = QHBoxLayout()
        self._row.setSpacing(6)
        self._row.setContentsMargins(0, 0, 0, 0)
        self._row.addStretch(1)
        strip = QWidget()
        strip.setObjectName("chipStrip")
        strip.setLayout(self._row)
        self.setObjectName("chipArea")
        self.setAccessibleName("Attachments")
        self.setWidget(strip)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setStyleSheet("#chipArea, #chipStrip { background: transparent; }")
        self.horizontalScrollBar().rangeChanged.connect(self._on_range_changed)
        self.hide()

    def add(self, chip: AttachmentChip) -> None:
        self.chips.append(chip)
        self._row.insertWidget(self._row.count() - 1, chip)
        scrollbar = self.horizontalScrollBar().sizeHint().height()
        self.setFixedHeight(chip.sizeHint().height() + scrollbar + 2)
        self.show()
        self._follow_new_chip = True

    def _on_range_changed(self, low: int, high: int) -> None:
        # Once the row has grown to take the new chip, scroll so that it shows.
        if self._follow_new_chip:
            self._follow_new_chip = False
            self.horizontalScrollBar().setValue(high)

    def remove(self, chip: AttachmentChip) -> None:
        self.chips.remove(chip)
        self._row.removeWidget(chip)
        chip.deleteLater()
        self.setVisible(bool(self.chips))
