"""The window's size, place and panel widths, kept between runs (QSettings, INI file).

Saved when the window closes, restored when it is built. A file written by a newer
version is read for nothing and never rewritten.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QByteArray, QEvent, QObject, QSettings
from PySide6.QtWidgets import QMainWindow, QSplitter

from app.paths import data_dir
from app.storage.versioned import is_newer, newer_version_sentence

log = logging.getLogger(__name__)

FORMAT_VERSION = 1


def window_state_path() -> Path:
    return data_dir() / "window.ini"


class WindowState(QObject):
    """Restores the window's geometry now and saves it when the window closes."""

    def __init__(self, window: QMainWindow, splitter: QSplitter, path: Path | None = None) -> None:
        super().__init__(window)
        self.window = window
        self.splitter = splitter
        self.path = path or window_state_path()
        self._settings = QSettings(str(self.path), QSettings.Format.IniFormat)
        version = self._settings.value("format_version")
        self.read_only = is_newer(version, FORMAT_VERSION)
        if self.read_only:
            sentence = newer_version_sentence(self.path, version, FORMAT_VERSION, "format")
            log.warning("%s The window opens at its default size.", sentence)
        window.installEventFilter(self)

    def restore(self) -> bool:
        """Apply the saved geometry; False if there is none (first run)."""
        if self.read_only:
            return False
        geometry = self._settings.value("window/geometry")
        if not isinstance(geometry, QByteArray) or not self.window.restoreGeometry(geometry):
            return False
        splitter = self._settings.value("window/splitter")
        if isinstance(splitter, QByteArray):
            self.splitter.restoreState(splitter)
        return True

    def save(self) -> None:
        if self.read_only:
            return
        self._settings.setValue("format_version", FORMAT_VERSION)
        self._settings.setValue("window/geometry", self.window.saveGeometry())
        self._settings.setValue("window/splitter", self.splitter.saveState())
        self._settings.sync()
        if self._settings.status() != QSettings.Status.NoError:
            log.warning("could not write %s (%s)", self.path, self._settings.status())

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if watched is self.window and event.type() == QEvent.Type.Close:
            self.save()
        return False
