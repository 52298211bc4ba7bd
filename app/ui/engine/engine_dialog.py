"""Model and engine (Ctrl+M): the local model picker, the server engine, the managed server.

The two radio buttons at the top say which engine answers and switch it: "Local
worker" loads the chosen checkpoint in the worker process; "OpenAI-compatible
server" sends requests to the server in the Server tab. The choice and the server's
settings (never its key) are remembered in the settings file.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QRadioButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.checkpoints.checkpoint import human_bytes
from app.engines.openai_client import ServerSettings
from app.ui.bridge.bridge import WorkerBridge
from app.ui.engine.engine_store import LOCAL, SERVER, EngineStore, ManagedServerValues
from app.ui.engine.local_api_panel import LocalApiPanel
from app.ui.engine.managed_server_panel import ManagedServerPanel
from app.ui.engine.model_picker import ModelPicker
from app.ui.engine.server_panel import ServerFormError, ServerPanel
from app.ui.settings.settings_store import SettingsStore

log = logging.getLogger(__name__)

MODELS_TAB, SERVER_TAB, MANAGED_TAB, LOCAL_API_TAB = range(4)


class EngineDialog(QDialog):
    """Chooses the engine and the model; owns the managed server."""

    def __init__(self, bridge: WorkerBridge, store: SettingsStore, parent: QWidget) -> None:
        super().__init__(parent)
        self.setWindowTitle("Model and engine")
        self.setAccessibleName("Model and engine")
        self.resize(860, 600)
        self.bridge = bridge
        self.engines = EngineStore(store)

        self.local_radio = QRadioButton("Local worker", self)
        self.local_radio.setAccessibleName("Engine: local worker")
        self.server_radio = QRadioButton("OpenAI-compatible server", self)
        self.server_radio.setAccessibleName("Engine: OpenAI-compatible server")
        self._radios = QButtonGroup(self)
        self._radios.addButton(self.local_radio)
        self._radios.addButton(self.server_radio)
        self.notice = QLabel(self)
        self.notice.setAccessibleName("Engine notice")
        self.notice.setWordWrap(True)
        self.notice.setStyleSheet("color: #b42318;")
        self.notice.hide()

        self.picker = ModelPicker(bridge.model_path, self)
        self.picker.set_attention(bridge.attention)
        self.picker.set_cache_entries(bridge.prompt_cache_entries)
        self.server_panel = ServerPanel(bridge.server_settings or self.engines.server_settings())
        self.managed_panel = ManagedServerPanel(self._managed_defaults())
        self.local_api_panel = LocalApiPanel(bridge, self.engines)
        self.tabs = QTabWidget(self)
        self.tabs.setAccessibleName("Model and engine sections")
        self.tabs.addTab(self.picker, "Local models")
        self.tabs.addTab(self.server_panel, "Server")
        self.tabs.addTab(self.managed_panel, "Managed server")
        self.tabs.addTab(self.local_api_panel, "Local API")
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        close.rejected.connect(self.hide)

        engine_row = QHBoxLayout()
        engine_row.addWidget(QLabel("Answers come from:", self))
        engine_row.addWidget(self.local_radio)
        engine_row.addWidget(self.server_radio)
        engine_row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(engine_row)
        layout.addWidget(self.notice)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(close)

        self._show_engine()
        self.local_radio.clicked.connect(self._on_local_clicked)
        self.server_radio.clicked.connect(self._on_server_clicked)
        self.picker.model_chosen.connect(self._on_model_chosen)
        self.picker.free_cache_requested.connect(self._on_free_cache_requested)
        bridge.cache_freed.connect(self._on_cache_freed)
        self.server_panel.server_chosen.connect(self._on_server_chosen)
        self.managed_panel.server_ready.connect(self._on_managed_ready)
        self.managed_panel.use_requested.connect(self._on_managed_use_requested)
        self.managed_panel.values_changed.connect(self.engines.save_managed)

    # ------------------------------------------------------------ public
    def use_local(
        self,
        model: Path | None = None,
        attention: str | None = None,
        prompt_cache_entries: int | None = None,
    ) -> None:
        """Answer with the local worker (reloading it with `model`, if given)."""
        self.bridge.use_model(model or self.bridge.model_path, attention, prompt_cache_entries)
        self.engines.save_engine(LOCAL)
        self.picker.set_current(self.bridge.model_path)
        self._show_engine()

    def use_server(self, settings: ServerSettings) -> None:
        """Answer with the server from now on (the local worker is stopped)."""
        self.local_api_panel.stop()  # it serves the local worker's model only
        self.bridge.use_server(settings)
        self.engines.save_engine(SERVER, settings)
        self._show_engine()

    def shutdown(self) -> None:
        """Stop the managed server, if one runs, and a connection test (the window closes)."""
        self.server_panel.cancel_test()
        self.managed_panel.shutdown()
        self.local_api_panel.shutdown()
        self.picker.shutdown()

    # ------------------------------------------------------------ internals
    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 (Qt override)
        super().showEvent(event)
        self._show_engine()
        self.picker.refresh()

    def _show_engine(self) -> None:
        on_server = self.bridge.server_settings is not None
        self.server_radio.setChecked(on_server)
        self.local_radio.setChecked(not on_server)
        self.notice.hide()

    def _on_local_clicked(self) -> None:
        if self.bridge.server_settings is not None:
            self.use_local()
        self.tabs.setCurrentIndex(MODELS_TAB)

    def _on_server_clicked(self) -> None:
        self.tabs.setCurrentIndex(SERVER_TAB)
        if self.bridge.server_settings is not None:
            return
        settings: ServerSettings | None = None
        try:
            settings = self.server_panel.settings()
        except ServerFormError as exc:
            problem = str(exc)
        else:
            problem = "" if settings.model else "Give the server's model name first."
        if settings is None or problem:
            self._show_engine()
            self.notice.setText(f"{problem} Then press Use this server.")
            self.notice.show()
            return
        self.use_server(settings)

    def _on_model_chosen(self, path: Path) -> None:
        bridge = self.bridge
        attention = self.picker.attention_choice()
        entries = self.picker.cache_entries_choice()
        loaded = bridge.ready is not None and bridge.server_settings is None
        same = loaded and bridge.model_path.resolve() == path.resolve()
        if same and bridge.attention == attention and bridge.prompt_cache_entries == entries:
            return  # already answering with it: no need to read it again
        self.engines.save_attention(attention)
        self.engines.save_prompt_cache_entries(entries)
        self.use_local(path, attention, entries)

    def _on_free_cache_requested(self) -> None:
        if not self.bridge.free_cache():
            self.picker.show_notice(
                "No local model is loaded, so no KV cache is kept"
                + (" (a server keeps its own)." if self.bridge.server_settings else ".")
            )

    def _on_cache_freed(self, freed_bytes: int) -> None:
        self.picker.show_notice(
            f"Freed {human_bytes(freed_bytes)} of kept KV caches: the next question of each "
            "conversation prefills everything again."
            if freed_bytes
            else "No KV cache was kept.",
            error=False,
        )

    def _on_server_chosen(self, settings: ServerSettings) -> None:
        self.use_server(settings)

    def _on_managed_ready(self, base_url: str, model: str) -> None:
        current = self.server_panel.settings_or_none()
        timeout = current.timeout_s if current else 600.0
        self.server_panel.set_settings(ServerSettings(base_url, model, None, timeout))

    def _on_managed_use_requested(self, base_url: str, model: str) -> None:
        self._on_managed_ready(base_url, model)
        self.use_server(self.server_panel.settings())
        self.tabs.setCurrentIndex(SERVER_TAB)

    def _managed_defaults(self) -> ManagedServerValues:
        values = self.engines.managed()
        if not values.model:
            return ManagedServerValues(
                values.engine, values.template, str(self.bridge.model_path), values.gpus,
                values.context, values.port,
            )  # fmt: skip
        return values
