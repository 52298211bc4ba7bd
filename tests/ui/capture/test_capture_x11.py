"""Capture under a real X server (Xvfb): the captured pixels are the region's, exactly."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from app.launch.display_check import check_launch, problem_sentence
from tests.ui.capture.capture_probe import PATTERN, REGION, pattern_rgb

PROBE = Path(__file__).with_name("capture_probe.py")
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def x_display() -> Iterator[str]:
    """A fresh Xvfb on a display number it picks itself (``-displayfd``)."""
    xvfb = shutil.which("Xvfb")
    assert xvfb, "the capture test needs Xvfb: apt-get install -y xvfb (.ci/run does it as root)"
    read, write = os.pipe()
    server = subprocess.Popen(
        [xvfb, "-displayfd", str(write), "-screen", "0", "1280x960x24", "-nolisten", "tcp"],
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    os.close(write)
    try:
        with os.fdopen(read) as numbers:
            number = numbers.readline().strip()
        assert number, f"Xvfb did not start: {server.stderr.read() if server.stderr else ''}"
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.parametrize("scale", [1, 2], ids=["scale1", "hidpi2"])
def test_the_captured_chip_holds_the_pixels_on_screen(
    scale: int, x_display: str, demo_bf16: Path, data_dir: Path, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "DISPLAY": x_display,
        "QT_QPA_PLATFORM": "xcb",
        "QT_SCALE_FACTOR": str(scale),
        "MAVERICK_DESK_DATA_DIR": str(data_dir),
    }
    env.pop("WAYLAND_DISPLAY", None)
    problem = problem_sentence(check_launch(env))
    assert problem is None, problem
    done = subprocess.run(
        [sys.executable, str(PROBE), str(demo_bf16), str(tmp_path / "settings.ini")],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert "failed" not in found, found["failed"]
    assert found["scale"] == scale
    assert found["overlay_shown"] and found["window_hidden_while_choosing"], found
    assert found["captured"] and found["window_back"], found
    assert found["cancelled"] and found["window_back_after_cancel"], found
    assert found["captures"] == 1 and found["notice"] == ""  # Esc attached nothing
    [chip] = found["chips"]
    assert Path(chip).parent == data_dir / "attachments"
    assert Path(chip).name.startswith("captured-")

    picture = Image.open(chip).convert("RGB")
    assert picture.size == (REGION.width() * scale, REGION.height() * scale)  # device pixels
    left, top = (REGION.x() - PATTERN.x()) * scale, (REGION.y() - PATTERN.y()) * scale
    expected = Image.new("RGB", picture.size)
    expected.putdata(
        [
            pattern_rgb(left + x, top + y)
            for y in range(picture.height)
            for x in range(picture.width)
        ]
    )
    assert picture.tobytes() == expected.tobytes()  # every pixel, none of the window's magenta
