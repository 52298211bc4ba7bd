"""The Help menu: About (versions for bug reports) and the log folder."""

from __future__ import annotations

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QWidget

from app.ui.bridge.bridge import WorkerBridge
from app.ui.help.about_dialog import AboutDialog, open_log_folder
from app.workers import protocol as p


class HelpMenu(QMenu):
    """Help > About Maverick Desk, Help > Open Log Folder."""

    def __init__(self, bridge: WorkerBridge, parent: QWidget) -> None:
        super().__init__("&Help", parent)
        self.setAccessibleName("Help menu")
        self._bridge = bridge
        self.dialog: AboutDialog | None = None
        self.about_action = QAction("&About Maverick Desk", self)
        self.about_action.triggered.connect(self.show_about)
        self.logs_action = QAction("Open &Log Folder", self)
        self.logs_action.triggered.connect(open_log_folder)
        self.addAction(self.about_action)
        self.addAction(self.logs_action)
        bridge.model_ready.connect(self._on_model_ready)

    def show_about(self) -> AboutDialog:
        """Open (or raise) the About dialog, filled with what the worker reported so far."""
        if self.dialog is None:
            self.dialog = AboutDialog(self._bridge.ready, self.parentWidget())
        else:
            self.dialog.set_ready(self._bridge.ready)
        self.dialog.show()
        self.dialog.raise_()
        self.dialog.activateWindow()
        return self.dialog

    def _on_model_ready(self, ready: p.Ready) -> None:
        if self.dialog is not None:
            self.dialog.set_ready(ready)
