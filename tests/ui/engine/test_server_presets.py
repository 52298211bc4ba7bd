"""Model and engine → Server → Preset: filling the form for a hosted provider, saved and used."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from app.engines.presets import AZURE_API_VERSION, preset_named
from app.ui.engine.engine_store import EngineStore
from app.ui.engine.server_panel import ServerFormError, ServerPanel
from app.ui.main_window import MainWindow
from app.ui.settings.settings_store import SettingsStore
from tests.ui.engine_fixtures import Scripted

CLICK = Qt.MouseButton.LeftButton
SECRET = "sk-or-preset-test-never-saved"


def choose(panel: ServerPanel, name: str) -> None:
    """Pick a preset as a person does (activated, not just the current index)."""
    index = panel.presets.picker.findData(name)
    assert index > 0, name
    panel.presets.picker.setCurrentIndex(index)
    panel.presets.picker.activated.emit(index)


def test_choosing_a_preset_fills_the_form(qtbot: Any, unstarted_window: MainWindow) -> None:
    panel = unstarted_window.open_engine_dialog().server_panel
    choose(panel, "together")
    assert panel.base_url.text() == "https://api.together.xyz/v1"
    assert panel.model.text() == "meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8"
    assert panel.api_key_env.text() == "TOGETHER_API_KEY"
    assert panel.presets.fill_in.isHidden() and "524,288" in panel.presets.hint.text()
    settings = panel.settings()
    assert settings.preset == "together" and settings.context_tokens == 524_288
    assert settings.max_images == 5

    # Azure: the {resource} fill-in builds the address; the key goes in api-key.
    choose(panel, "azure")
    assert not panel.presets.fill_in.isHidden()
    with pytest.raises(ServerFormError, match=r"Fill in \{resource\}"):
        panel.settings()
    qtbot.keyClicks(panel.presets.fill_in, "my-foundry")
    assert panel.base_url.text() == "https://my-foundry.services.ai.azure.com/models"
    azure = panel.settings()
    assert azure.query == {"api-version": AZURE_API_VERSION} and azure.api_key_header == "api-key"
    assert azure.api_key_env == "AZURE_INFERENCE_CREDENTIAL"

    # A key typed into the headers is refused, and Custom drops the preset's limits.
    panel.presets.headers.setText("api-key: sk-typed-here")
    with pytest.raises(ServerFormError, match="would carry the key"):
        panel.settings()
    panel.presets.headers.clear()
    choose_custom = panel.presets.picker.findData("")
    panel.presets.picker.setCurrentIndex(choose_custom)
    panel.presets.picker.activated.emit(choose_custom)
    custom = panel.settings()
    assert custom.preset is None and custom.context_tokens is None and custom.api_key_header is None


def test_a_preset_is_saved_restored_and_sets_the_meter(
    qtbot: Any,
    engine_window: MainWindow,
    scripted_server: Scripted,
    monkeypatch: pytest.MonkeyPatch,
    data_dir: Path,
) -> None:
    window = engine_window
    monkeypatch.setenv("OPENROUTER_API_KEY", SECRET)
    openrouter = preset_named("openrouter")
    scripted_server.status = 200
    scripted_server.content_type = "application/json"
    scripted_server.body = json.dumps(
        {"object": "list", "data": [{"id": openrouter.model, "object": "model"}]}
    ).encode()
    window.settings_panel.set_value("image_limit", 8)
    dialog = window.open_engine_dialog()
    panel = dialog.server_panel
    choose(panel, "openrouter")
    panel.base_url.setText(scripted_server.base_url)  # stands in for openrouter.ai
    panel.presets.headers.setText("HTTP-Referer: https://example.org; X-Title: Maverick Desk")
    with qtbot.waitSignal(window.bridge.model_ready, timeout=30_000) as ready:
        qtbot.mouseClick(panel.use_button, CLICK)
    assert ready.args[0].context_length == 1_048_576
    path, headers = scripted_server.requests[-1]
    assert path == "/v1/models" and headers["x-title"] == "Maverick Desk"
    assert headers["http-referer"] == "https://example.org"
    assert headers["authorization"] == f"Bearer {SECRET}"

    # The context meter counts against the provider's context; images follow its limit.
    label = window.composer.context_meter.label
    qtbot.waitUntil(lambda: "/ 1,048,576 tokens" in label.text(), timeout=60_000)
    assert window._image_limit() == openrouter.max_images

    # Saved (never the key) and restored into a new form.
    saved = EngineStore(SettingsStore(data_dir / "settings.ini")).server_settings()
    assert saved == window.bridge.server_settings
    assert SECRET not in (data_dir / "settings.ini").read_text()
    again = ServerPanel(saved)
    try:
        assert again.presets.picker.currentData() == "openrouter"
        assert again.presets.headers.text() == (
            "HTTP-Referer: https://example.org; X-Title: Maverick Desk"
        )
        assert again.settings() == saved
    finally:
        again.deleteLater()
        window.bridge.shutdown()  # close the keep-alive connection before the server stops
        qtbot.waitUntil(lambda: window.bridge.idle, timeout=20_000)
