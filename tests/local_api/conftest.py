"""A real local API on 127.0.0.1: a worker with the bf16 demo, uvicorn on a free port."""

from __future__ import annotations

import base64
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.engines.managed_server import free_port
from app.local_api.event_router import EventRouter
from app.local_api.serving import LocalApi, ServeOptions
from app.workers.client import WorkerClient

MAX_QUEUE = 2


def make_api(options: ServeOptions, data_dir: Path, *, start_worker: bool = True) -> LocalApi:
    """A LocalApi with its own worker (not started when `start_worker` is False)."""
    router = EventRouter()
    client = WorkerClient(on_event=router, env={"MAVERICK_DESK_DATA_DIR": str(data_dir)})
    if start_worker:
        client.start()
    api = LocalApi(options, client=client, router=router)
    api.start()
    return api


def close_api(api: LocalApi) -> None:
    api.close()
    api.client.shutdown(timeout=10)


@pytest.fixture(scope="module")
def api(demo_bf16: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalApi]:
    """Serving the bf16 demo, two requests may wait; shut down after the module."""
    served = make_api(
        ServeOptions(port=free_port(), max_queue=MAX_QUEUE), tmp_path_factory.mktemp("api-data")
    )
    try:
        served.load(demo_bf16)
        yield served
    finally:
        close_api(served)


@pytest.fixture
def openai_client(api: LocalApi) -> object:
    import openai

    return openai.OpenAI(base_url=api.base_url, api_key="unused", max_retries=0, timeout=120)


def data_url(path: Path) -> str:
    mime = "image/jpeg" if path.suffix == ".jpg" else "image/png"
    return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def ask(demo: Path, prompt: str, *extra: str, new_tokens: int = 12) -> str:
    """The answer of `maverick-desk ask` (greedy), without its closing newline."""
    result = subprocess.run(
        [sys.executable, "-m", "app", "ask", "--model", str(demo), "--temperature", "0",
         "--max-new-tokens", str(new_tokens), "--quiet", *extra, prompt],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith("\n")
    return result.stdout[:-1]
