"""The model library: Llama 4 checkpoints on this machine, and the one the user chose.

Torch-free, for the window and the command line. Checkpoints are found in the
Hugging Face cache (``$HF_HUB_CACHE``, else ``$HF_HOME/hub``, else
``~/.cache/huggingface/hub``; ``models--ORG--NAME/snapshots/REV/``) and in folders
the user added (a folder that is a checkpoint, or holds checkpoints one level
down). Other architectures in the Hugging Face cache are skipped; in a folder the
user added they are listed as unsupported, with the reason, since the user asked
for that folder.

The user's folders and chosen model live in ``model_library.json`` in the data
directory: format-versioned, written atomically, refused if newer.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.checkpoints.checkpoint import (
    SUPPORTED_ARCHITECTURE,
    CheckpointError,
    inspect_checkpoint,
)
from app.checkpoints.model_size import parameters_from_config
from app.paths import data_dir
from app.storage.atomic import atomic_write_text
from app.storage.errors import StorageError
from app.storage.versioned import is_newer, newer_version_sentence

SETTINGS_NAME = "model_library.json"
SETTINGS_VERSION = 1

# Status values shown to the user; stored nowhere.
READY = "ready"
INCOMPLETE = "incomplete"
UNSUPPORTED = "unsupported"


class LibraryError(ValueError):
    """The library settings cannot be read or written, with a message for the user."""


@dataclass(frozen=True)
class ModelEntry:
    """One checkpoint as the model picker shows it."""

    path: Path
    name: str
    source: str  # "huggingface" or "folder"
    architecture: str
    status: str  # READY, INCOMPLETE or UNSUPPORTED
    problem: str  # what is wrong and what to do; "" when ready
    precision: str
    total_parameters: int
    active_parameters: int
    size_bytes: int
    is_demo: bool = False

    @property
    def ready(self) -> bool:
        return self.status == READY


@dataclass
class LibrarySettings:
    """What the library remembers: the user's folders and the chosen model."""

    folders: list[str] = field(default_factory=list)
    chosen: str | None = None


# ------------------------------------------------------------------ settings


def settings_path() -> Path:
    return data_dir() / SETTINGS_NAME


def load_settings() -> LibrarySettings:
    """Read the settings; an absent file is empty settings, a bad or newer one an error."""
    path = settings_path()
    if not path.is_file():
        return LibrarySettings()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise LibraryError(
            f"{path} cannot be read ({exc}). Fix or delete it; the model library starts empty then."
        ) from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("format_version"), int):
        raise LibraryError(f"{path} is not a Maverick Desk model library file. Delete it.")
    if is_newer(raw["format_version"], SETTINGS_VERSION):
        raise LibraryError(
            newer_version_sentence(path, raw["format_version"], SETTINGS_VERSION, "format")
        )
    folders = [str(f) for f in raw.get("folders") or [] if isinstance(f, str)]
    chosen = raw.get("chosen_model")
    return LibrarySettings(folders, chosen if isinstance(chosen, str) else None)


def save_settings(settings: LibrarySettings) -> None:
    """Write the settings atomically (temporary file, then rename)."""
    path = settings_path()
    body = {
        "format_version": SETTINGS_VERSION,
        "folders": settings.folders,
        "chosen_model": settings.chosen,
    }
    text = json.dumps(body, indent=2) + "\n"
    try:
        atomic_write_text(path, text, "save the model library")
    except StorageError as exc:
        raise LibraryError(str(exc)) from exc


def _key(folder: Path | str) -> str:
    return str(Path(folder).expanduser().resolve())


def add_folder(folder: Path | str) -> LibrarySettings:
    """Remember a folder to search; it must exist."""
    path = Path(folder).expanduser()
    if not path.is_dir():
        raise LibraryError(f"{path} is not a folder. Give the folder that holds your checkpoints.")
    settings = load_settings()
    if _key(path) not in settings.folders:
        settings.folders.append(_key(path))
        save_settings(settings)
    return settings


def remove_folder(folder: Path | str) -> LibrarySettings:
    """Forget a folder (the files stay where they are)."""
    settings = load_settings()
    key = _key(folder)
    if key not in settings.folders:
        listed = ", ".join(settings.folders) or "none"
        raise LibraryError(f"{key} is not one of the library's folders ({listed}).")
    settings.folders.remove(key)
    save_settings(settings)
    return settings


def choose_model(folder: Path | str) -> ModelEntry:
    """Remember `folder` as the model to load; it must be a complete Llama 4 checkpoint."""
    entry = describe_checkpoint(Path(folder).expanduser(), source="folder")
    if not entry.ready:
        raise LibraryError(f"Cannot choose {entry.path}: {entry.problem}")
    settings = load_settings()
    settings.chosen = _key(entry.path)
    save_settings(settings)
    return entry


def chosen_model() -> Path | None:
    """The model the user chose last, if any (it may since have been deleted)."""
    chosen = load_settings().chosen
    return Path(chosen) if chosen else None


# ----------------------------------------------------------------- discovery


def hf_hub_cache() -> Path:
    """Where the Hugging Face hub caches models on this machine."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    return Path.home() / ".cache" / "huggingface" / "hub"


def _read_config(folder: Path) -> dict[str, Any] | None:
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    return config if isinstance(config, dict) else None


def _is_llama4(config: dict[str, Any]) -> bool:
    architectures = config.get("architectures") or []
    return SUPPORTED_ARCHITECTURE in architectures or (
        not architectures and config.get("model_type") == "llama4"
    )


def _config_precision(config: dict[str, Any]) -> str:
    quant = config.get("quantization_config") or {}
    if isinstance(quant, dict) and quant.get("quant_method") == "compressed-tensors":
        return "fp8 (compressed-tensors)"
    if isinstance(quant, dict) and quant.get("quant_method"):
        return f"quantised ({quant['quant_method']})"
    dtype = str(config.get("dtype") or config.get("torch_dtype") or "")
    return {"bfloat16": "bf16", "float16": "fp16", "float32": "fp32"}.get(dtype, dtype or "unknown")


def _size_on_disk(folder: Path) -> int:
    total = 0
    for item in folder.glob("*.safetensors"):
        try:
            total += item.stat().st_size
        except OSError:  # a dangling link of an unfinished download
            continue
    return total


def describe_checkpoint(
    folder: Path, source: str = "folder", name: str | None = None
) -> ModelEntry:
    """A library entry for one folder; never raises: problems become the entry's status."""
    try:
        info = inspect_checkpoint(folder)
    except CheckpointError as exc:
        problem = str(exc)
    else:
        return ModelEntry(
            path=info.path,
            name=name if name and not info.is_demo else info.name,
            source=source,
            architecture=info.architecture,
            status=READY,
            problem="",
            precision=info.precision,
            total_parameters=info.total_parameters,
            active_parameters=info.active_parameters,
            size_bytes=info.size_bytes,
            is_demo=info.is_demo,
        )
    config = _read_config(folder)
    architectures = (config or {}).get("architectures") or []
    architecture = ", ".join(str(a) for a in architectures) or str((config or {}).get("model_type"))
    status = INCOMPLETE if config is not None and _is_llama4(config) else UNSUPPORTED
    total = active = 0
    if status == INCOMPLETE and config is not None:
        try:
            count = parameters_from_config(config)
            total, active = count.total, count.active
        except (KeyError, TypeError, ValueError):
            total = active = 0
    return ModelEntry(
        path=folder,
        name=name or folder.name,
        source=source,
        architecture=architecture,
        status=status,
        problem=problem,
        precision=_config_precision(config) if config else "unknown",
        total_parameters=total,
        active_parameters=active,
        size_bytes=_size_on_disk(folder),
    )


def _hf_checkpoints(cache: Path) -> list[tuple[Path, str]]:
    found = []
    for repo in sorted(cache.glob("models--*")):
        snapshots = sorted(p for p in (repo / "snapshots").glob("*") if p.is_dir())
        repo_name = repo.name.removeprefix("models--").replace("--", "/")
        for snapshot in snapshots:
            config = _read_config(snapshot)
            if config is None or not _is_llama4(config):
                continue
            label = repo_name if len(snapshots) == 1 else f"{repo_name}@{snapshot.name[:7]}"
            found.append((snapshot, label))
    return found


def _folder_checkpoints(folder: Path) -> list[Path]:
    if (folder / "config.json").is_file():
        return [folder]
    try:
        children = sorted(p for p in folder.iterdir() if p.is_dir())
    except OSError:
        return []
    return [p for p in children if (p / "config.json").is_file()]


def discover(settings: LibrarySettings | None = None) -> list[ModelEntry]:
    """Every checkpoint in the Hugging Face cache and the user's folders, each once."""
    settings = settings if settings is not None else load_settings()
    entries: list[ModelEntry] = []
    seen: set[str] = set()
    for snapshot, label in _hf_checkpoints(hf_hub_cache()):
        if _key(snapshot) not in seen:
            seen.add(_key(snapshot))
            entries.append(describe_checkpoint(snapshot, "huggingface", label))
    for folder in settings.folders:
        for path in _folder_checkpoints(Path(folder)):
            if _key(path) not in seen:
                seen.add(_key(path))
                entries.append(describe_checkpoint(path, "folder"))
    return entries
