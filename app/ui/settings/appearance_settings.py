"""The look part of the settings panel: theme (System / Light / Dark) and text size."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QApplication, QComboBox, QFormLayout, QSpinBox, QWidget

from app.ui.settings.settings_store import SettingsStore

THEME_CHOICES = (("System", "system"), ("Light", "light"), ("Dark", "dark"))
DEFAULT_FONT_SIZE = 11
MIN_FONT_SIZE = 8
MAX_FONT_SIZE = 28


def default_font_size() -> int:
    """The application font's size: what the text has until the user picks one."""
    size = QApplication.font().pointSize()
    return size if size > 0 else DEFAULT_FONT_SIZE


class AppearanceSettings(QWidget):
    """Theme and text size; every change is stored at once and announced."""

    theme_changed = Signal(str)  # "system", "light" or "dark"
    font_size_changed = Signal(int)  # points

    def __init__(self, store: SettingsStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._store = store
        self.theme = QComboBox(self)
        self.theme.setAccessibleName("Theme")
        for label, value in THEME_CHOICES:
            self.theme.addItem(label, value)
        stored = str(store.appearance("theme", "system"))
        self.theme.setCurrentIndex(max(0, self.theme.findData(stored)))
        self.font_size = QSpinBox(self)
        self.font_size.setAccessibleName("Text size of the conversation, in points")
        self.font_size.setRange(MIN_FONT_SIZE, MAX_FONT_SIZE)
        self.font_size.setSuffix(" pt")
        self.font_size.setValue(int(store.appearance("font_size", default_font_size())))
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Theme", self.theme)
        form.addRow("Text size", self.font_size)
        self.theme.currentIndexChanged.connect(self._on_theme_edited)
        self.font_size.valueChanged.connect(self._on_font_size_edited)

    @property
    def theme_mode(self) -> str:
        return str(self.theme.currentData())

    def set_theme_mode(self, mode: str) -> None:
        """Choose a theme as if the user picked it."""
        self.theme.setCurrentIndex(self.theme.findData(mode))

    def _on_theme_edited(self, index: int) -> None:
        self._store.save_appearance("theme", self.theme_mode)
        self.theme_changed.emit(self.theme_mode)

    def _on_font_size_edited(self, value: int) -> None:
        self._store.save_appearance("font_size", value)
        self.font_size_changed.emit(value)
