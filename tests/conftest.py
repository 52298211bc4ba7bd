"""Fixtures shared by every test: the demo checkpoint, a temporary data directory, a worker."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Compiling the decode step costs a minute of CPU at every load; the tests that load a
# model run transformers' generate, and tests/inference/test_compiled_decode.py compiles.
os.environ.setdefault("MAVERICK_DESK_COMPILE", "off")
# The tests that say "the prompt cache never changes the answer" hold for 512-token
# prefill steps, which the README promises bit-exact; the default (steps as large as
# memory allows) is equal up to bf16 rounding, and tests/inference/test_prefill.py and
# test_prompt_cache.py run it.
os.environ.setdefault("MAVERICK_DESK_PREFILL_STEP", "512")

# The README's test command writes the demo once to .demo/ and points here; without it
# the session writes its own copy.
DEMO_ENV = "MAVERICK_DESK_TEST_DEMO"


@pytest.fixture(scope="session")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the demo checkpoint's bf16/ and fp8/ twins."""
    preset = os.environ.get(DEMO_ENV)
    if preset and (Path(preset) / "bf16" / "config.json").is_file():
        return Path(preset)
    from app.generators.demo import write_demo_checkpoint

    root = tmp_path_factory.mktemp("demo")
    write_demo_checkpoint(root)
    return root


@pytest.fixture(scope="session")
def demo_bf16(demo_root: Path) -> Path:
    return demo_root / "bf16"


@pytest.fixture(scope="session")
def demo_fp8(demo_root: Path) -> Path:
    return demo_root / "fp8"


@pytest.fixture(scope="session")
def long_question(demo_bf16: Path) -> str:
    """A question the demo answers greedily, on this machine, for at least
    LONG_ANSWER_MIN_TOKENS tokens (see tests/demo_answers.py)."""
    from tests.demo_answers import LONG_ANSWER_MIN_TOKENS, find_long_question

    question, tried = find_long_question(demo_bf16)
    if question is None:
        pytest.fail(
            f"no question in tests/demo_answers.py gets a greedy answer of "
            f"{LONG_ANSWER_MIN_TOKENS} tokens from the demo on this machine ({tried}): add one"
        )
    return question


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own data directory; nothing touches the user's."""
    path = tmp_path / "data"
    monkeypatch.setenv("MAVERICK_DESK_DATA_DIR", str(path))
    return path


@pytest.fixture
def images(tmp_path: Path) -> dict[str, Path]:
    """Two real images of different sizes and aspect ratios, plus bad files."""
    from PIL import Image, ImageDraw

    wide = Image.new("RGB", (640, 360), (30, 90, 200))
    ImageDraw.Draw(wide).ellipse((200, 80, 440, 280), fill=(250, 200, 0))
    tall = Image.new("RGB", (150, 500), (20, 160, 60))
    ImageDraw.Draw(tall).rectangle((20, 40, 130, 300), fill=(200, 20, 20))
    paths = {"wide": tmp_path / "wide.png", "tall": tmp_path / "tall.jpg"}
    wide.save(paths["wide"])
    tall.save(paths["tall"], quality=92)
    paths["empty"] = tmp_path / "empty.png"
    paths["empty"].write_bytes(b"")
    paths["text"] = tmp_path / "notes.png"
    paths["text"].write_text("this is not an image\n", encoding="utf-8")
    paths["truncated"] = tmp_path / "truncated.png"
    paths["truncated"].write_bytes(paths["wide"].read_bytes()[:400])
    return paths


@pytest.fixture
def worker(demo_bf16: Path) -> Iterator[object]:
    """A real worker process with the bf16 demo loaded; shut down afterwards."""
    from app.workers import protocol as p
    from app.workers.client import WorkerClient

    client = WorkerClient()
    client.start()
    rid = client.load(demo_bf16)
    events = list(client.events_for(rid, timeout=120))
    assert isinstance(events[-1], p.Ready), events[-1]
    yield client
    client.shutdown(timeout=10)


@pytest.fixture(scope="session")
def demo_server(demo_bf16: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A real `transformers serve` on 127.0.0.1 with the bf16 demo; its model name is the path.

    Started once per session through `ManagedServer` and stopped (whole process group)
    at the end. An empty HF cache keeps `/v1/models` fast and independent of the machine.
    """
    from app.engines.managed_server import TEMPLATES, ManagedServer, free_port

    cache = tmp_path_factory.mktemp("hf-cache")
    server = ManagedServer(
        TEMPLATES["transformers"] + " --device cpu",
        model=str(demo_bf16),
        port=free_port(),
        env={"HF_HUB_CACHE": str(cache), "HF_HUB_OFFLINE": "1"},
    )
    server.start()
    try:
        server.wait_until_ready(timeout_s=180)
        yield server
    finally:
        server.stop()
