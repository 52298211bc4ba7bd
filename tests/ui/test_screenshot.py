"""`maverick-desk --screenshot`: the real app process asks, waits for the answer, saves a PNG."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PIL import Image, ImageStat

from app.storage import ConversationStore


def _screenshot(out: Path, question: str, image: Path, model: Path, data_dir: Path) -> str:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", MAVERICK_DESK_DATA_DIR=str(data_dir))
    done = subprocess.run(
        [sys.executable, "-m", "app", "--model", str(model), "--screenshot", str(out),
         "--demo-question", question, "--image", str(image)],
        capture_output=True, text=True, env=env, timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_screenshot_answers_in_a_new_conversation_and_saves_the_window(
    demo_bf16: Path, data_dir: Path, images: dict[str, Path], tmp_path: Path
) -> None:
    first, second = tmp_path / "first.png", tmp_path / "second.png"
    assert f"saved {first}" in _screenshot(
        first, "What is this?", images["wide"], demo_bf16, data_dir
    )
    _screenshot(second, "And this one?", images["tall"], demo_bf16, data_dir)

    picture = Image.open(second)
    assert picture.width >= 800 and picture.height >= 600
    assert (
        max(hi - lo for lo, hi in ImageStat.Stat(picture.convert("L")).extrema) > 100
    )  # not blank
    # Each run is its own conversation, even though the app reopens the last one.
    with ConversationStore.open(data_dir) as store:
        saved = store.list_conversations()
    assert sorted(c.title for c in saved) == ["And this one?", "What is this?"]
    assert [c.message_count for c in saved] == [2, 2]
