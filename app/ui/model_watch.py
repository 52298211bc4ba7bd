"""What the window shows of the model's state: loading, ready, failed, a stopped worker."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject

from app.ui.bridge.bridge import WorkerBridge
from app.ui.chat_view import ChatView
from app.ui.composer.composer import Composer
from app.ui.engine.status_bar import ModelStatusBar
from app.ui.settings.settings_panel import SettingsPanel
from app.ui.transcript.error_block import ErrorBlock
from app.workers import protocol as p


class ModelWatch(QObject):
    """Follows the bridge's model signals into the status bar, composer, settings, transcript."""

    def __init__(
        self,
        bridge: WorkerBridge,
        status: ModelStatusBar,
        composer: Composer,
        settings: SettingsPanel,
        chat_view: ChatView,
        budget_changed: Callable[[], None],
    ) -> None:
        super().__init__(status)
        self._bridge, self._status, self._composer = bridge, status, composer
        self._settings, self._chat_view = settings, chat_view
        self._budget_changed = budget_changed  # the window recounts the context meter
        bridge.model_loading.connect(status.show_loading)
        bridge.model_ready.connect(self._on_model_ready)
        bridge.model_failed.connect(self._on_model_failed)
        bridge.worker_died.connect(self._on_worker_died)
        bridge.serving_changed.connect(status.show_serving)
        status.cancel_load_requested.connect(bridge.cancel_load)

    def _on_model_ready(self, ready: p.Ready) -> None:
        self._status.show_ready(ready)
        on_server = self._bridge.server_settings is not None
        self._composer.set_context_limit(ready.context_length if on_server else 0)
        # The documents' budget: the engine's context (model, server or hosted preset).
        self._chat_view.session.documents.context_length = ready.context_length
        self._budget_changed()
        self._composer.set_model_folder(self._bridge.model_path)  # it may exist only now
        self._settings.apply_model_defaults(ready.generation_defaults)
        for warning in ready.warnings:
            self._chat_view.transcript.add(ErrorBlock(f"Warning: {warning}", retry=False))

    def _on_model_failed(self, text: str) -> None:
        on_server = self._bridge.server_settings is not None
        self._status.show_failed("Server not reachable" if on_server else "Model not loaded")
        self._offer_reload(text)

    def _on_worker_died(self, exit_code: object, text: str) -> None:
        self._status.show_stopped_worker()
        self._offer_reload(text)

    def _offer_reload(self, text: str) -> None:
        # While an answer is written, its own failure says what happened (with Retry).
        if not self._chat_view.session.generating:
            self._chat_view.add_error(text, self._on_reload_requested)

    def _on_reload_requested(self) -> None:
        self._chat_view.clear_errors()
        self._bridge.start(self._settings.values().image_limit)
