"""`maverick-desk serve` brings a dead worker back: the next request loads it again."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import psutil

from app.engines.managed_server import free_port
from app.local_api.serving import LocalApi, ServeOptions
from app.local_api.worker_revival import FIRST_DELAY_S, HEALTHY_S, MAX_DELAY_S, Backoff


def test_backoff_restarts_at_once_then_later_and_later() -> None:
    backoff = Backoff()
    backoff.loaded(0.0)
    assert backoff.failed(1000.0) == 0.0  # it had lived: at once
    delays = [backoff.failed(1000.0 + i) for i in range(1, 9)]
    assert delays[:3] == [FIRST_DELAY_S, 2 * FIRST_DELAY_S, 4 * FIRST_DELAY_S]
    assert delays[-1] == MAX_DELAY_S and backoff.failures == 9
    assert backoff.wait(1008.0) == MAX_DELAY_S and backoff.wait(1008.0 + MAX_DELAY_S) == 0
    backoff.loaded(2000.0)
    assert backoff.failed(2000.0 + HEALTHY_S / 2) > 0  # loaded, but died soon: still a loop
    backoff.loaded(3000.0)
    assert backoff.failed(3000.0 + HEALTHY_S) == 0.0 and backoff.failures == 1


def test_serve_restarts_its_killed_worker(demo_bf16: Path) -> None:
    port = free_port()
    serve = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--model", str(demo_bf16), "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert serve.stdout is not None
        line = serve.stdout.readline()
        assert line.startswith("Serving "), line + (serve.stderr.read() if serve.stderr else "")
        url = f"http://127.0.0.1:{port}/v1"
        body = {"model": "Llama-4-Maverick-demo-random-weights", "max_tokens": 2,
                "messages": [{"role": "user", "content": "Hi"}]}  # fmt: skip
        assert httpx2.post(url + "/chat/completions", json=body, timeout=120).status_code == 200
        (worker,) = psutil.Process(serve.pid).children()
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        time.sleep(0.5)  # the client reports the death
        models = httpx2.get(url + "/models", timeout=30)
        assert models.status_code == 503 and models.headers["Retry-After"] == "5"
        assert "SIGKILL" in models.text and "loading again" in models.text, models.text
        deadline = time.monotonic() + 180
        while (
            reply := httpx2.post(url + "/chat/completions", json=body, timeout=120)
        ).status_code != 200:
            assert reply.status_code == 503 and "loading again" in reply.text, reply.text
            assert time.monotonic() < deadline, "the model never came back"
            time.sleep(0.5)
        assert reply.json()["usage"]["completion_tokens"] == 2
        (again,) = psutil.Process(serve.pid).children()
        assert again.pid != worker.pid
    finally:
        serve.send_signal(signal.SIGTERM)
        _, err = serve.communicate(timeout=60)
    assert serve.returncode == 0, err
    assert "loading the model again" in err and "loaded again; serving" in err, err
    assert not psutil.pid_exists(again.pid) or psutil.Process(again.pid).status() == "zombie"


def test_a_failing_reload_backs_off_and_says_so(demo_bf16: Path, tmp_path: Path) -> None:
    """The worker dies, then its model cannot load again: the next try waits, and 503s say so."""
    checkpoint = tmp_path / "bf16"
    shutil.copytree(demo_bf16, checkpoint)
    said: list[str] = []
    api = LocalApi(ServeOptions(port=free_port()), say=said.append)
    api.start()
    try:
        api.load(checkpoint)
        shutil.rmtree(checkpoint)  # the model's folder went away while it was served
        api.client.kill()
        deadline = time.monotonic() + 60
        while api.model.ready is not None:  # until the client reports the death
            assert time.monotonic() < deadline
            time.sleep(0.05)
        url = api.base_url + "/models"
        while "in a row" not in (reply := httpx2.get(url, timeout=30)).text:
            assert reply.status_code == 503 and time.monotonic() < deadline, reply.text
            time.sleep(0.2)
        assert reply.status_code == 503 and reply.headers["Retry-After"] == str(int(FIRST_DELAY_S))
        message = reply.json()["error"]["message"]
        assert "could not be loaded" in message and "2 failures in a row" in message, message
        assert f"next try to load it is in {int(FIRST_DELAY_S)} s" in message
        assert api.revival is not None and api.revival.backoff.failures == 2
        again = httpx2.get(url, timeout=30)  # within the wait: no new try, the same answer
        assert again.status_code == 503 and api.revival.backoff.failures == 2
        assert any("2 failures in a row" in line for line in said), said
    finally:
        api.close()
