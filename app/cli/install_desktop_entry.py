"""``maverick-desk install-desktop-entry``: add the app to the desktop's menus (Linux)."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from typing import Any

from app.desktop_integration import install, targets, uninstall
from app.storage.errors import StorageError


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "install-desktop-entry",
        help="register the app with the Linux desktop for the current user",
        description=(
            "Install the .desktop entry, AppStream metainfo and icon under $XDG_DATA_HOME "
            "(~/.local/share), or remove them with --uninstall."
        ),
    )
    parser.add_argument("--uninstall", action="store_true", help="remove what install added")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        if args.uninstall:
            removed = uninstall()
            for path in removed:
                print(f"removed {path}")
            if not removed:
                print("nothing to remove: the desktop entry was not installed")
        else:
            for path in install().all():
                print(f"installed {path}")
    except (OSError, StorageError) as exc:
        print(f"maverick-desk install-desktop-entry: {exc}", file=sys.stderr)
        return 1
    updater = shutil.which("update-desktop-database")
    if updater:
        subprocess.run([updater, str(targets().desktop.parent)], check=False, capture_output=True)
    return 0
