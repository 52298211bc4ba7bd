"""The window's dialogs, made when first opened: Model and engine, Tools, and Batch."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QWidget

from app.ui.batch.batch_window import BatchWindow
from app.ui.bridge.bridge import WorkerBridge
from app.ui.engine.engine_dialog import EngineDialog
from app.ui.settings.settings_store import SettingsStore
from app.ui.tools.tools_dialog import ToolsDialog
from app.ui.tools.window_tools import WindowTools


class WindowDialogs:
    """Opens, raises and shuts down the dialogs of one window."""

    def __init__(
        self,
        window: QWidget,
        bridge: WorkerBridge,
        store: SettingsStore,
        set_tools: Callable[[list[dict[str, object]]], None],
    ) -> None:
        self._window = window
        self._bridge = bridge
        self._store = store
        self._set_tools = set_tools  # the composer's meter counts the tools offered
        self.tools: WindowTools | None = None  # the window's tools, once it has them
        self.engine_dialog: EngineDialog | None = None
        self.tools_dialog: ToolsDialog | None = None
        self.batch_window: BatchWindow | None = None

    def open_engine_dialog(self) -> EngineDialog:
        """Show Model and engine: the model picker, the server engine, the managed server."""
        if self.engine_dialog is None:
            self.engine_dialog = EngineDialog(self._bridge, self._store, self._window)
        _raise(self.engine_dialog)
        return self.engine_dialog

    def open_tools_dialog(self) -> ToolsDialog:
        """Show Tools: the MCP servers of mcp.json, their tools, policies, the JSON."""
        if self.tools_dialog is None:
            # With the window's tools it shows their host: each server runs once.
            tools = self.tools
            self.tools_dialog = (
                ToolsDialog(tools.config_path, parent=self._window, tools=tools)
                if tools is not None
                else ToolsDialog(parent=self._window)
            )
            self.tools_dialog.tools_changed.connect(self._on_tools_changed)
            self.tools_dialog.finished.connect(self._on_tools_dialog_finished)
        _raise(self.tools_dialog)
        return self.tools_dialog

    def open_batch_window(self) -> BatchWindow:
        """Show Batch: jobs over folders of images and PDFs; an unfinished one is listed."""
        if self.batch_window is None:
            self.batch_window = BatchWindow(self._bridge, parent=self._window)
        _raise(self.batch_window)
        return self.batch_window

    def shutdown(self) -> None:
        """The managed server and the dialog's own tool servers stop with the window."""
        if self.batch_window is not None:  # its finished items are saved; it resumes later
            self.batch_window.shutdown()
            self.batch_window.close()
        if self.engine_dialog is not None:
            self.engine_dialog.shutdown()
            self.engine_dialog.close()
        if self.tools_dialog is not None:
            self.tools_dialog.shutdown()
            self.tools_dialog.close()

    def _on_tools_changed(self) -> None:
        if self.tools is not None:  # answers use the new choices (after a running one);
            self.tools.reload()  # its `tools_offered` gives the meter the definitions
        elif self.tools_dialog is not None:
            self._set_tools(self.tools_dialog.catalog().definitions())

    def _on_tools_dialog_finished(self, _result: int = 0) -> None:
        # With the window's tools the dialog shares their host (closing it stops nothing);
        # alone it runs the servers on a host of its own, which closing it stops.
        dialog, self.tools_dialog = self.tools_dialog, None
        if dialog is not None:
            dialog.shutdown()
            dialog.deleteLater()


def _raise(dialog: QWidget) -> None:
    dialog.show()
    dialog.raise_()
    dialog.activateWindow()
