"""Wayland's path: the Screenshot request goes to the desktop portal over D-Bus."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

PROBE = Path(__file__).with_name("portal_probe.py")
ROOT = Path(__file__).resolve().parents[3]


def test_without_a_portal_capture_says_what_to_install() -> None:
    session = shutil.which("dbus-run-session")
    assert session, "this test needs dbus-run-session: apt-get install -y dbus-daemon"
    # A private session bus of its own, on which no portal runs.
    done = subprocess.run(
        [session, "--", sys.executable, str(PROBE)],
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    outcome = done.stdout.strip().splitlines()[-1]
    assert outcome.startswith(
        "failed: Capture is unavailable: the desktop portal's Screenshot request failed ("
    ), outcome
    assert "org.freedesktop.portal.Desktop" in outcome and "xdg-desktop-portal" in outcome
