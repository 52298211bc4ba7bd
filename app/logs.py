"""Logging to the platform log directory, rotated, so bug reports can include it.

Tracebacks go here; the user sees a sentence (STYLE.md, rule 4).
"""

from __future__ import annotations

import logging
import logging.handlers
import os
from pathlib import Path

from app.paths import log_dir

LOG_FILE = "maverick-desk.log"
MAX_BYTES = 2 * 1024 * 1024
BACKUPS = 5
LEVEL_ENV = "MAVERICK_DESK_LOG_LEVEL"


def setup_logging(directory: Path | None = None) -> Path | None:
    """Send the app's log records to a rotating file; return its path (None if unwritable)."""
    folder = directory or log_dir()
    root = logging.getLogger()
    level = getattr(logging, os.environ.get(LEVEL_ENV, "INFO").upper(), logging.INFO)
    root.setLevel(level)
    path = folder / LOG_FILE
    for handler in root.handlers:
        if isinstance(handler, logging.handlers.RotatingFileHandler):
            return Path(handler.baseFilename)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8"
        )
    except OSError:
        return None  # a read-only home must not stop the app; stderr still works
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s")
    )
    root.addHandler(handler)
    return path
