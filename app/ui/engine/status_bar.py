"""The status bar: which model, on what, loading progress, and the last answer's figures."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar, QToolButton, QWidget

from app.local_api.scheduler import ServingState
from app.workers import protocol as p


class ModelStatusBar(QStatusBar):
    """Model name and precision, devices, loading progress, last answer's figures."""

    cancel_load_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizeGripEnabled(False)
        self.setAccessibleName("Status")
        self.model_label = QLabel("No model loaded", self)
        self.model_label.setObjectName("modelLabel")
        self.model_label.setAccessibleName("Model")
        self.demo_tag = QLabel("demo: random weights", self)
        self.demo_tag.setObjectName("demoTag")
        self.demo_tag.setAccessibleName("The demo checkpoint has random weights")
        self.demo_tag.hide()
        self.device_label = QLabel(self)
        self.device_label.setAccessibleName("Devices")
        self.stage_label = QLabel(self)
        self.stage_label.setAccessibleName("Loading stage")
        self.progress = QProgressBar(self)
        self.progress.setAccessibleName("Loading progress")
        self.progress.setFixedWidth(140)
        self.progress.setMaximumHeight(12)
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.cancel_button = QToolButton(self)
        self.cancel_button.setText("Cancel")
        self.cancel_button.setObjectName("cancelLoad")
        self.cancel_button.setAccessibleName("Cancel loading the model")
        self.cancel_button.setToolTip("Stop loading the model")
        self.cancel_button.clicked.connect(self.cancel_load_requested)
        self.cancel_button.hide()
        self.serving_label = QLabel(self)
        self.serving_label.setObjectName("servingLabel")
        self.serving_label.setAccessibleName("Local API")
        self.serving_label.hide()
        self.figures_label = QLabel(self)
        self.figures_label.setAccessibleName("Figures of the last answer")
        self.addWidget(self.model_label)
        self.addWidget(self.demo_tag)
        self.addWidget(self.device_label)
        self.addWidget(self.stage_label)
        self.addWidget(self.progress)
        self.addWidget(self.cancel_button)
        self.addPermanentWidget(self.serving_label)
        self.addPermanentWidget(self.figures_label)

    def show_loading(self, stage: str, done: int, total: int) -> None:
        self.stage_label.setText(f"{stage[:1].upper()}{stage[1:]}…")
        self.stage_label.show()
        self.progress.show()
        self.cancel_button.show()
        if total > 0:
            self.progress.setRange(0, total)
            self.progress.setValue(done)
        else:
            self.progress.setRange(0, 0)  # busy indicator

    def show_ready(self, ready: p.Ready) -> None:
        self.stage_label.hide()
        self.progress.hide()
        self.cancel_button.hide()
        self.model_label.setText(f"{ready.name} · {ready.quantisation}")
        self.demo_tag.setVisible(ready.is_demo)
        self.device_label.setText(", ".join(ready.devices))
        self.clearMessage()

    def show_failed(self, text: str) -> None:
        self.stage_label.setText(text)
        self.stage_label.show()
        self.progress.hide()
        self.cancel_button.hide()
        self.model_label.setText("No model loaded")
        self.demo_tag.hide()

    def show_stopped_worker(self) -> None:
        self.progress.hide()
        self.cancel_button.hide()
        self.model_label.setText("Model worker stopped")
        self.demo_tag.hide()
        self.device_label.setText("")

    def show_serving(self, state: ServingState | None) -> None:
        """While the Local API is on: whether the model is busy serving another client."""
        if state is None:
            self.serving_label.hide()
            return
        if state.busy_serving_client:
            waiting = state.waiting_api + state.waiting_window
            queued = f" · {waiting} waiting" if waiting else ""
            self.serving_label.setText(f"Busy serving another client{queued}")
        else:
            self.serving_label.setText(f"Local API on · {state.served_api:,} served")
        self.serving_label.show()

    def show_figures(self, done: p.Done, context_length: int) -> None:
        used = done.prompt_tokens + done.generated_tokens
        limit = f" of {context_length:,}" if context_length else ""
        # A follow-up that reused the conversation's KV cache says how much it skipped.
        cached = f" · {done.cached_summary()}" if done.cached_prompt_tokens else ""
        self.figures_label.setText(
            f"first token {done.time_to_first_token_s:.2f} s · {done.tokens_per_s:.1f} tokens/s · "
            f"context {used:,}{limit}{cached}"
        )
