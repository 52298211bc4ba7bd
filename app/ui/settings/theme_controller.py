"""Applies the theme and text size to a window, live, and follows the system's scheme.

With the theme set to System, the palette follows `QStyleHints.colorScheme()` and
changes when the desktop switches (`colorSchemeChanged`). Switching re-styles what is
already on screen: the window's style sheet, the widget palette, and every rendered
message (whose code colours are inline, so they are rendered again).
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QWidget

from app.ui.look.theme import (
    DARK,
    LIGHT,
    THEMES,
    Palette,
    current_palette,
    qt_palette,
    set_current_palette,
    window_style_sheet,
)
from app.ui.markdown.markdown_view import MarkdownView
from app.ui.markdown.safe_browser import SafeTextBrowser
from app.ui.settings.appearance_settings import AppearanceSettings

log = logging.getLogger(__name__)


def palette_for_scheme(scheme: Qt.ColorScheme) -> Palette:
    """The palette matching a desktop colour scheme (light when it says nothing)."""
    return DARK if scheme == Qt.ColorScheme.Dark else LIGHT


class ThemeController(QObject):
    """Owns the look of `window`: `set_mode` for the theme, `set_font_size` for the text."""

    theme_applied = Signal(str)  # the palette's name, "light" or "dark"

    def __init__(self, window: QWidget, mode: str = "system", font_size: int = 11) -> None:
        super().__init__(window)
        self._window = window
        self._mode = mode if mode in (*THEMES, "system") else "system"
        self._font_size = font_size
        self._system_scheme = QGuiApplication.styleHints().colorScheme()
        QGuiApplication.styleHints().colorSchemeChanged.connect(self._on_color_scheme_changed)

    @classmethod
    def following(cls, window: QWidget, look: AppearanceSettings) -> ThemeController:
        """A controller applied now, following the Appearance settings as they change."""
        theme = cls(window, look.theme_mode, look.font_size.value())
        theme.apply_theme()
        look.theme_changed.connect(theme.set_mode)
        look.font_size_changed.connect(theme.set_font_size)
        return theme

    @property
    def mode(self) -> str:
        return self._mode

    @property
    def font_size(self) -> int:
        return self._font_size

    def palette(self) -> Palette:
        if self._mode in THEMES:
            return THEMES[self._mode]
        return palette_for_scheme(self._system_scheme)

    def set_mode(self, mode: str) -> None:
        """Switch to "system", "light" or "dark", applied at once."""
        self._mode = mode if mode in (*THEMES, "system") else "system"
        self.apply_theme()

    def set_font_size(self, points: int) -> None:
        """Size the text of the messages and the message box, at once."""
        self._font_size = points
        self._window.setStyleSheet(window_style_sheet(current_palette(), points))

    def apply_theme(self) -> None:
        palette = self.palette()
        changed = palette != current_palette()
        set_current_palette(palette)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.setPalette(qt_palette(palette))
        self._window.setStyleSheet(window_style_sheet(palette, self._font_size))
        if changed:
            self._restyle_messages()
        log.info("theme %s (%s)", palette.name, self._mode)
        self.theme_applied.emit(palette.name)

    def _restyle_messages(self) -> None:
        views = self._window.findChildren(MarkdownView)
        inside_views = {id(b) for view in views for b in view.browsers()}
        for view in views:
            view.restyle()
        for browser in self._window.findChildren(SafeTextBrowser):
            if id(browser) not in inside_views:
                browser.restyle()

    def _on_color_scheme_changed(self, scheme: Qt.ColorScheme) -> None:
        self._system_scheme = scheme
        if self._mode == "system":
            self.apply_theme()
