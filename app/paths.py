"""Where the app keeps its files: the data directory, the demo checkpoint, logs.

The data directory comes from platformdirs and can be moved with
``--data-dir`` or the ``MAVERICK_DESK_DATA_DIR`` environment variable (tests use
a temporary one).
"""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_config_path, user_data_path, user_log_path

APP_NAME = "maverick-desk"
DATA_DIR_ENV = "MAVERICK_DESK_DATA_DIR"
MODEL_ENV = "MAVERICK_DESK_MODEL"


def data_dir() -> Path:
    """The app's data directory (not created here)."""
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        return Path(override).expanduser()
    return user_data_path(APP_NAME, appauthor=False)


def log_dir() -> Path:
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        return Path(override).expanduser() / "logs"
    return user_log_path(APP_NAME, appauthor=False)


def demo_checkpoint_root() -> Path:
    """Where `maverick-desk demo-checkpoint` writes by default (bf16/ and fp8/ inside)."""
    return data_dir() / "demo-checkpoint"


def default_model() -> Path:
    """The model the app uses when none is given: $MAVERICK_DESK_MODEL or the demo."""
    override = os.environ.get(MODEL_ENV)
    if override:
        return Path(override).expanduser()
    return demo_checkpoint_root() / "bf16"


def packaged_file(folder: str, name: str) -> Path:
    """A file from the repository's `resources/` or `packaging/` folder.

    Installed from a wheel they live in the packages `app.resources` and
    `app.desktop_files`; run from a source checkout they are beside `app/`.
    """
    package = {"resources": "app.resources", "packaging": "app.desktop_files"}[folder]
    try:
        from importlib import resources

        candidate = Path(str(resources.files(package).joinpath(name)))
        if candidate.is_file():
            return candidate
    except (ModuleNotFoundError, TypeError):
        pass
    return Path(__file__).resolve().parent.parent / folder / name


def config_dir() -> Path:
    """The app's config folder (mcp.json lives here); under the data dir when it is moved."""
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        return Path(override).expanduser() / "config"
    return user_config_path(APP_NAME, appauthor=False)
