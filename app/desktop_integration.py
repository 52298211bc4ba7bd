"""Registering the app with the Linux desktop for the current user (freedesktop.org).

Installs the `.desktop` entry, the AppStream metainfo and the SVG icon under
``$XDG_DATA_HOME`` (``~/.local/share``), and removes them again.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from app.paths import packaged_file
from app.storage.atomic import atomic_write_text

APP_ID = "io.github.maverickdesk.MaverickDesk"
DESKTOP_FILE = f"{APP_ID}.desktop"
METAINFO_FILE = f"{APP_ID}.metainfo.xml"
ICON_FILE = "maverick-desk.svg"


@dataclass(frozen=True)
class InstalledFiles:
    """Where the three files go."""

    desktop: Path
    metainfo: Path
    icon: Path

    def all(self) -> tuple[Path, Path, Path]:
        return (self.desktop, self.metainfo, self.icon)


def xdg_data_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def targets(data_home: Path | None = None) -> InstalledFiles:
    home = data_home or xdg_data_home()
    return InstalledFiles(
        desktop=home / "applications" / DESKTOP_FILE,
        metainfo=home / "metainfo" / METAINFO_FILE,
        icon=home / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg",
    )


def packaged_text(folder: str, name: str) -> str:
    return packaged_file(folder, name).read_text(encoding="utf-8")


def desktop_entry_text(executable: str | None = None) -> str:
    """The packaged entry, with Exec pointing at this installation's `maverick-desk`."""
    text = packaged_text("packaging", DESKTOP_FILE)
    exe = (
        executable
        or shutil.which("maverick-desk")
        or str(Path(sys.executable).with_name("maverick-desk"))
    )
    quoted = f'"{exe}"' if " " in exe else exe
    lines = []
    for line in text.splitlines():
        if line.startswith("Exec="):
            line = f"Exec={quoted} %F"
        elif line.startswith("TryExec="):
            line = f"TryExec={exe}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def install(data_home: Path | None = None, executable: str | None = None) -> InstalledFiles:
    files = targets(data_home)
    contents = {
        files.desktop: desktop_entry_text(executable),
        files.metainfo: packaged_text("packaging", METAINFO_FILE),
        files.icon: packaged_text("resources", ICON_FILE),
    }
    for path, text in contents.items():
        atomic_write_text(path, text, "register the app with the desktop")
    return files


def uninstall(data_home: Path | None = None) -> list[Path]:
    removed = []
    for path in targets(data_home).all():
        if path.exists():
            path.unlink()
            removed.append(path)
    return removed
