"""Wayland's path: the Screenshot request goes to the desktop portal over D-Bus.

Each test runs its own session bus (dbus-daemon); the portal is absent or a stand-in that
speaks the real interface (fake_portal.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

PROBE = Path(__file__).with_name("portal_probe.py")
FAKE_PORTAL = Path(__file__).with_name("fake_portal.py")
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def session_bus() -> Iterator[dict[str, str]]:
    """The environment of a private D-Bus session bus on which nothing runs yet."""
    daemon = shutil.which("dbus-daemon")
    assert daemon, "the portal tests need dbus-daemon: apt-get install -y dbus-daemon"
    bus = subprocess.Popen(
        [daemon, "--session", "--nofork", "--print-address=1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert bus.stdout is not None
        address = bus.stdout.readline().strip()
        assert address, "dbus-daemon printed no address"
        yield {**os.environ, "DBUS_SESSION_BUS_ADDRESS": address, "QT_QPA_PLATFORM": "offscreen"}
    finally:
        bus.terminate()
        bus.wait(timeout=10)


def _ask(env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, str(PROBE)], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().splitlines()[-1]


class FakePortals:
    """Starts fake_portal.py on the test's bus with the answer a test names."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.started: list[subprocess.Popen[str]] = []

    def start(self, response: int, picture: Path) -> subprocess.Popen[str]:
        fake = subprocess.Popen(
            [sys.executable, str(FAKE_PORTAL), str(response), picture.as_uri()],
            env=self.env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.started.append(fake)
        assert fake.stdout is not None and fake.stdout.readline().strip() == "ready"
        return fake


@pytest.fixture
def portals(session_bus: dict[str, str]) -> Iterator[FakePortals]:
    portals = FakePortals(session_bus)
    yield portals
    for fake in portals.started:
        fake.terminate()
        fake.wait(timeout=10)


def test_without_a_portal_capture_says_what_to_install(session_bus: dict[str, str]) -> None:
    outcome = _ask(session_bus)
    assert outcome.startswith(
        "failed: Capture is unavailable: the desktop portal's Screenshot request failed ("
    ), outcome
    assert "org.freedesktop.portal.Desktop" in outcome and "xdg-desktop-portal" in outcome


def test_the_portals_picture_is_taken(portals: FakePortals, tmp_path: Path) -> None:
    picture = tmp_path / "portal shot.png"  # a space: the URI is decoded, not pasted
    Image.new("RGB", (31, 17), (200, 40, 90)).save(picture)
    fake = portals.start(0, picture)
    assert _ask(portals.env) == "taken: 31x17"
    assert fake.stdout is not None
    assert fake.stdout.readline().strip() == "asked interactive=True"  # its chooser crops


def test_a_cancelled_portal_request_attaches_nothing(portals: FakePortals, tmp_path: Path) -> None:
    portals.start(1, tmp_path / "unused.png")
    assert _ask(portals.env) == "cancelled"
