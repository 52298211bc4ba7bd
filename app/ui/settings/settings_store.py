"""The user's generation settings, kept in an INI file in the data directory.

Only the values the user changed are stored; the rest follow the loaded checkpoint's
`generation_config`. A file written by a newer version is read for nothing and never
rewritten.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings

from app.chat.vocabulary import KNOBS, Sampling
from app.inference.images import DEFAULT_IMAGE_LIMIT
from app.paths import data_dir
from app.storage.versioned import is_newer, newer_version_sentence

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
FIELDS = ("system_prompt", *KNOBS, "image_limit")  # every sampling setting is kept
# Their defaults come from the checkpoint (or the vocabulary); Reset brings them back.
MODEL_FIELDS = tuple(name for name in KNOBS if name != "seed")


@dataclass(frozen=True)
class GenerationSettings:
    """How answers are generated, as the settings panel shows it."""

    system_prompt: str = ""
    temperature: float = 0.6
    top_p: float = 0.9
    max_new_tokens: int = 512
    seed: int | None = None
    image_limit: int = DEFAULT_IMAGE_LIMIT
    min_p: float = 0.0  # 0: off
    repetition_penalty: float = 1.0  # 1: off

    def sampling(self) -> Sampling:
        """The chat's sampling settings these values give."""
        return Sampling.from_dict(asdict(self))


def settings_path() -> Path:
    return data_dir() / "settings.ini"


class SettingsStore:
    """Reads and writes the settings file."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or settings_path()
        self._settings = QSettings(str(self.path), QSettings.Format.IniFormat)
        version = self._settings.value("format_version")
        self.read_only = is_newer(version, FORMAT_VERSION)
        if self.read_only:
            sentence = newer_version_sentence(self.path, version, FORMAT_VERSION, "settings format")
            log.warning("%s The defaults are used.", sentence)

    def user_set(self, name: str) -> bool:
        return not self.read_only and self._settings.contains(f"generation/{name}")

    def load(self, defaults: GenerationSettings) -> GenerationSettings:
        """`defaults` with the user's stored values on top."""
        if self.read_only:
            return defaults
        values: dict[str, Any] = {}
        for name in FIELDS:
            key = f"generation/{name}"
            if not self._settings.contains(key):
                continue
            raw = self._settings.value(key)
            current = getattr(defaults, name)
            if name == "seed":
                values[name] = None if raw in (None, "", "none") else as_int(raw, None)
            elif isinstance(current, bool) or name == "system_prompt":
                values[name] = str(raw)
            elif isinstance(current, int):
                values[name] = as_int(raw, current)
            else:
                values[name] = as_float(raw, current)
        return replace(defaults, **values)

    def save(self, name: str, value: Any) -> None:
        if self.read_only:
            return
        self._settings.setValue("format_version", FORMAT_VERSION)
        self._settings.setValue(f"generation/{name}", "none" if value is None else value)
        self._settings.sync()

    def appearance(self, name: str, default: Any) -> Any:
        """A look setting ("theme", "font_size"), or `default` if unset or unreadable."""
        key = f"appearance/{name}"
        if self.read_only or not self._settings.contains(key):
            return default
        raw = self._settings.value(key)
        return as_int(raw, default) if isinstance(default, int) else str(raw)

    def save_appearance(self, name: str, value: Any) -> None:
        if self.read_only:
            return
        self._settings.setValue("format_version", FORMAT_VERSION)
        self._settings.setValue(f"appearance/{name}", value)
        self._settings.sync()

    def forget(self, names: tuple[str, ...]) -> None:
        if self.read_only:
            return
        for name in names:
            self._settings.remove(f"generation/{name}")
        self._settings.sync()


def as_int(raw: Any, fallback: Any) -> Any:
    try:
        return int(raw)
    except (TypeError, ValueError):
        return fallback


def as_float(raw: Any, fallback: Any) -> Any:
    try:
        return float(raw)
    except (TypeError, ValueError):
        return fallback
