"""Which engine the window uses, remembered in the settings file beside the generation settings.

Stored: the engine (local worker or server), the server's address, model name, the
*name* of the environment variable holding its API key and the timeout, and the
managed server's template and values. The API key itself is never written: only
`ServerSettings.to_dict()` goes to disk, and it holds no key.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QSettings

from app.checkpoints.preflight import ATTENTION_IMPLEMENTATIONS
from app.engines.openai_client import ServerSettings
from app.ui.settings.settings_store import FORMAT_VERSION, SettingsStore, as_float, as_int
from app.workers.protocol import DEFAULT_PROMPT_CACHE_ENTRIES, MAX_PROMPT_CACHE_ENTRIES

log = logging.getLogger(__name__)

LOCAL = "local"
SERVER = "server"
ENGINES = (LOCAL, SERVER)
DEFAULT_BASE_URL = "http://127.0.0.1:8000/v1"
DEFAULT_TIMEOUT_S = 600.0
# A preset's part of the server settings, saved as one JSON value (never the key).
EXTRAS = ("headers", "query", "api_key_header", "max_images", "context_tokens", "preset")


@dataclass(frozen=True)
class ManagedServerValues:
    """The managed server form: which template, its text, and the placeholders' values."""

    engine: str = "vllm"
    template: str = ""  # "" means the engine's default template
    model: str = ""
    gpus: int = 8
    context: int = 430_000
    port: int = 8000


@dataclass(frozen=True)
class LocalApiValues:
    """The Local API tab: where to listen, and the variable holding its key (off 127.0.0.1)."""

    host: str = "127.0.0.1"
    port: int = 8790
    key_env: str = ""


class EngineStore:
    """Reads and writes the engine choice in the settings file (`SettingsStore.path`)."""

    def __init__(self, store: SettingsStore) -> None:
        self.path = store.path
        self.read_only = store.read_only
        self._settings = QSettings(str(self.path), QSettings.Format.IniFormat)

    # ------------------------------------------------------------ engine
    @property
    def engine(self) -> str:
        value = str(self._value("engine/kind", LOCAL))
        return value if value in ENGINES else LOCAL

    def server_settings(self) -> ServerSettings:
        """The server form's values (defaults where nothing was saved)."""
        data = {
            "base_url": str(self._value("server/base_url", DEFAULT_BASE_URL)),
            "model": str(self._value("server/model", "")),
            "api_key_env": str(self._value("server/api_key_env", "")) or None,
            "timeout_s": as_float(
                self._value("server/timeout_s", DEFAULT_TIMEOUT_S), DEFAULT_TIMEOUT_S
            ),
        }
        try:
            extras = json.loads(str(self._value("server/extras", "{}")) or "{}")
            return ServerSettings.from_dict(data | {k: v for k, v in extras.items() if k in EXTRAS})
        except (ValueError, TypeError, AttributeError) as exc:
            log.warning("the saved server's headers and limits cannot be read (%s)", exc)
            return ServerSettings.from_dict(data)

    def save_engine(self, engine: str, server: ServerSettings | None = None) -> None:
        """Remember the engine (and the server's settings, which hold no key)."""
        values: dict[str, Any] = {"engine/kind": engine}
        if server is not None:
            saved = server.to_dict()
            for name in ("base_url", "model", "api_key_env", "timeout_s"):
                values[f"server/{name}"] = "" if saved[name] is None else saved[name]
            values["server/extras"] = json.dumps({name: saved[name] for name in EXTRAS})
        self._write(values)

    # ------------------------------------------------------------ local loading
    @property
    def attention(self) -> str:
        """The attention implementation the local worker loads with (sdpa unless chosen)."""
        value = str(self._value("engine/attention", ATTENTION_IMPLEMENTATIONS[0]))
        return value if value in ATTENTION_IMPLEMENTATIONS else ATTENTION_IMPLEMENTATIONS[0]

    def save_attention(self, attention: str) -> None:
        self._write({"engine/attention": attention})

    @property
    def prompt_cache_entries(self) -> int:
        """How many conversations' KV caches the local worker keeps (1 unless chosen, 0: off)."""
        value: int = as_int(
            self._value("engine/prompt_cache_entries", DEFAULT_PROMPT_CACHE_ENTRIES),
            DEFAULT_PROMPT_CACHE_ENTRIES,
        )
        return min(max(0, value), MAX_PROMPT_CACHE_ENTRIES)

    def save_prompt_cache_entries(self, entries: int) -> None:
        self._write({"engine/prompt_cache_entries": entries})

    # ------------------------------------------------------------ local API
    def local_api(self) -> LocalApiValues:
        """Where the Local API listened last (the key's variable name, never the key)."""
        d = LocalApiValues()
        return LocalApiValues(
            host=str(self._value("local_api/host", d.host)) or d.host,
            port=as_int(self._value("local_api/port", d.port), d.port),
            key_env=str(self._value("local_api/key_env", d.key_env)),
        )

    def save_local_api(self, values: LocalApiValues) -> None:
        self._write({f"local_api/{k}": v for k, v in values.__dict__.items()})

    # ------------------------------------------------------------ managed server
    def managed(self) -> ManagedServerValues:
        d = ManagedServerValues()
        return ManagedServerValues(
            engine=str(self._value("managed/engine", d.engine)),
            template=str(self._value("managed/template", d.template)),
            model=str(self._value("managed/model", d.model)),
            gpus=as_int(self._value("managed/gpus", d.gpus), d.gpus),
            context=as_int(self._value("managed/context", d.context), d.context),
            port=as_int(self._value("managed/port", d.port), d.port),
        )

    def save_managed(self, values: ManagedServerValues) -> None:
        self._write({f"managed/{k}": v for k, v in values.__dict__.items()})

    # ------------------------------------------------------------ internals
    def _value(self, key: str, default: Any) -> Any:
        if self.read_only or not self._settings.contains(key):
            return default
        return self._settings.value(key)

    def _write(self, values: dict[str, Any]) -> None:
        if self.read_only:
            log.warning("%s is from a newer version; the engine choice is not saved", self.path)
            return
        self._settings.setValue("format_version", FORMAT_VERSION)
        for key, value in values.items():
            self._settings.setValue(key, value)
        self._settings.sync()
