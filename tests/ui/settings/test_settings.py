"""Settings: stored per data directory, model defaults for what the user did not set."""

from __future__ import annotations

from pathlib import Path

from app.ui.settings.settings_panel import SettingsPanel
from app.ui.settings.settings_store import GenerationSettings, SettingsStore


def test_edits_persist_and_model_defaults_fill_the_rest(qtbot: object, data_dir: Path) -> None:
    path = data_dir / "settings.ini"
    panel = SettingsPanel(SettingsStore(path))
    qtbot.addWidget(panel)  # type: ignore[attr-defined]
    panel.set_value("temperature", 0.0)
    panel.set_value("seed", 1234)
    panel.set_value("system_prompt", "Answer in French.")
    panel.set_value("min_p", 0.05)
    panel.set_value("repetition_penalty", 1.15)

    again = SettingsPanel(SettingsStore(path))
    qtbot.addWidget(again)  # type: ignore[attr-defined]
    again.apply_model_defaults({"temperature": 0.9, "top_p": 0.5, "max_new_tokens": 77})
    values = again.values()
    assert values.temperature == 0.0  # the user's choice wins
    assert values.seed == 1234
    assert values.system_prompt == "Answer in French."
    assert values.top_p == 0.5 and values.max_new_tokens == 77  # from the checkpoint
    assert values.sampling().min_p == 0.05  # what the session sends
    assert values.sampling().repetition_penalty == 1.15

    again.reset_button.click()
    assert again.values().temperature == 0.9
    assert again.values().min_p == 0.0  # a sampling field: back to off
    assert again.values().repetition_penalty == 1.0
    assert SettingsStore(path).load(GenerationSettings()).seed == 1234  # not a model field


def test_a_settings_file_from_a_newer_version_is_not_touched(data_dir: Path) -> None:
    path = data_dir / "settings.ini"
    path.parent.mkdir(parents=True, exist_ok=True)
    original = "[General]\nformat_version=9\n\n[generation]\ntemperature=1.5\n"
    path.write_text(original, encoding="utf-8")
    store = SettingsStore(path)
    assert store.read_only
    assert store.load(GenerationSettings()).temperature == 0.6
    store.save("temperature", 0.1)
    assert path.read_text(encoding="utf-8") == original
