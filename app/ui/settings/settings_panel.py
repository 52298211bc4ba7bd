"""The settings side panel: system prompt, sampling, length, seed and image limit."""

from __future__ import annotations

import functools
from dataclasses import replace
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.chat.vocabulary import KNOBS, Knob
from app.ui.settings.appearance_settings import AppearanceSettings
from app.ui.settings.settings_store import MODEL_FIELDS, GenerationSettings, SettingsStore

NO_SEED = -1
EXTRA_KNOBS = {name: knob for name, knob in KNOBS.items() if knob.server == "extra"}


class SettingsPanel(QWidget):
    """Edits the generation settings; every change is stored at once."""

    changed = Signal()

    def __init__(self, store: SettingsStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("settingsPanel")
        self.setAccessibleName("Settings")
        self.setMinimumWidth(260)
        self._store = store
        self._model_defaults = GenerationSettings()
        self._loading = False

        title = QLabel("Settings", self)
        title.setObjectName("settingsTitle")
        self.system_prompt = QPlainTextEdit(self)
        self.system_prompt.setAccessibleName("System prompt")
        self.system_prompt.setPlaceholderText("Optional instructions for every answer")
        self.system_prompt.setTabChangesFocus(True)
        self.system_prompt.setFixedHeight(96)
        self.temperature = self._double(0.0, 2.0, 0.05, "Temperature (0 is greedy)")
        self.top_p = self._double(0.01, 1.0, 0.05, "Top p")
        # The settings servers take as extras (min_p…): a box each, from its knob.
        self.extras = {name: self._knob_box(name, knob) for name, knob in EXTRA_KNOBS.items()}
        self.max_new_tokens = QSpinBox(self)
        self.max_new_tokens.setRange(1, 131072)
        self.max_new_tokens.setSingleStep(64)
        self.max_new_tokens.setAccessibleName("Maximum new tokens")
        self.seed = QSpinBox(self)
        self.seed.setRange(NO_SEED, 2**31 - 1)
        self.seed.setSpecialValueText("random")
        self.seed.setAccessibleName("Seed (random when unset)")
        self.image_limit = QSpinBox(self)
        self.image_limit.setRange(1, 32)
        self.image_limit.setAccessibleName("Images per request")
        self.reset_button = QPushButton("Reset to model defaults", self)
        self.reset_button.setAccessibleName("Reset sampling settings to the model's defaults")
        self.reset_button.clicked.connect(self._on_reset_clicked)
        hint = QLabel("Temperature, top p and length start from the checkpoint's defaults.", self)
        hint.setWordWrap(True)
        hint.setStyleSheet("color: #656d76;")

        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Temperature", self.temperature)
        form.addRow("Top p", self.top_p)
        for name, box in self.extras.items():
            form.addRow(EXTRA_KNOBS[name].label, box)
        form.addRow("Max new tokens", self.max_new_tokens)
        form.addRow("Seed", self.seed)
        form.addRow("Images per request", self.image_limit)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 14, 16, 14)
        layout.setSpacing(10)
        layout.addWidget(title)
        layout.addWidget(QLabel("System prompt", self))
        layout.addWidget(self.system_prompt)
        layout.addLayout(form)
        layout.addWidget(self.reset_button)
        layout.addWidget(hint)
        self.appearance = AppearanceSettings(store, self)
        layout.addSpacing(8)
        layout.addWidget(self.appearance)
        layout.addStretch(1)

        self._show(store.load(self._model_defaults))
        self.system_prompt.textChanged.connect(lambda: self._on_edited("system_prompt"))
        self.temperature.valueChanged.connect(lambda _: self._on_edited("temperature"))
        self.top_p.valueChanged.connect(lambda _: self._on_edited("top_p"))
        for name, box in self.extras.items():
            box.valueChanged.connect(functools.partial(self._on_knob_edited, name))
        self.max_new_tokens.valueChanged.connect(lambda _: self._on_edited("max_new_tokens"))
        self.seed.valueChanged.connect(lambda _: self._on_edited("seed"))
        self.image_limit.valueChanged.connect(lambda _: self._on_edited("image_limit"))

    def values(self) -> GenerationSettings:
        seed = self.seed.value()
        return GenerationSettings(
            system_prompt=self.system_prompt.toPlainText(),
            temperature=round(self.temperature.value(), 4),
            top_p=round(self.top_p.value(), 4),
            **{name: round(box.value(), 4) for name, box in self.extras.items()},
            max_new_tokens=self.max_new_tokens.value(),
            seed=None if seed == NO_SEED else seed,
            image_limit=self.image_limit.value(),
        )

    def apply_model_defaults(self, defaults: dict[str, Any]) -> None:
        """The checkpoint's generation_config; fields the user set keep their values."""
        known = {k: v for k, v in defaults.items() if k in MODEL_FIELDS and v is not None}
        self._model_defaults = replace(
            self._model_defaults,
            **{k: type(getattr(self._model_defaults, k))(v) for k, v in known.items()},
        )
        self._show(self._store.load(self._model_defaults))

    def set_value(self, name: str, value: Any) -> None:
        """Set one field as if the user typed it (stored like an edit)."""
        widget = getattr(self, name)
        if name == "system_prompt":
            widget.setPlainText(str(value))
        elif name == "seed":
            widget.setValue(NO_SEED if value is None else int(value))
        else:
            widget.setValue(value)

    # ------------------------------------------------------------ internals
    def _double(self, low: float, high: float, step: float, accessible: str) -> QDoubleSpinBox:
        box = QDoubleSpinBox(self)
        box.setRange(low, high)
        box.setSingleStep(step)
        box.setDecimals(2)
        box.setAccessibleName(accessible)
        return box

    def _knob_box(self, name: str, knob: Knob) -> QDoubleSpinBox:
        low = (knob.low or 0.0) + (knob.step if knob.low_open else 0.0)
        high = (knob.high or 100.0) - (knob.step if knob.high_open else 0.0)
        off = f" ({knob.off:g} is off)" if knob.off is not None else ""
        box = self._double(low, high, knob.step, f"{knob.label}{off}")
        if knob.off is not None and knob.off == low:
            box.setSpecialValueText("off")
        setattr(self, name, box)  # as the other settings: `set_value(name, …)` finds it
        return box

    def _show(self, values: GenerationSettings) -> None:
        self._loading = True
        try:
            if self.system_prompt.toPlainText() != values.system_prompt:
                self.system_prompt.setPlainText(values.system_prompt)
            self.temperature.setValue(values.temperature)
            self.top_p.setValue(values.top_p)
            for name, box in self.extras.items():
                box.setValue(getattr(values, name))
            self.max_new_tokens.setValue(values.max_new_tokens)
            self.seed.setValue(NO_SEED if values.seed is None else values.seed)
            self.image_limit.setValue(values.image_limit)
        finally:
            self._loading = False

    def _on_knob_edited(self, name: str, _value: float) -> None:
        self._on_edited(name)

    def _on_edited(self, name: str) -> None:
        if self._loading:
            return
        self._store.save(name, getattr(self.values(), name))
        self.changed.emit()

    def _on_reset_clicked(self) -> None:
        self._store.forget(MODEL_FIELDS)
        self._show(self._store.load(self._model_defaults))
        self.changed.emit()
