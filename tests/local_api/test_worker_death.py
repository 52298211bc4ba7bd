"""A worker that dies mid-answer: the stream ends with an error, then every request gets 503."""

from __future__ import annotations

import json
from pathlib import Path

import httpx2
import pytest

from app.engines.managed_server import free_port
from app.local_api.serving import ServeOptions
from tests.local_api.conftest import close_api, make_api


def test_worker_death_mid_stream(demo_bf16: Path, tmp_path: Path) -> None:
    api = make_api(ServeOptions(port=free_port()), tmp_path)
    try:
        api.load(demo_bf16)
        body = {
            "model": api.model.model_id,
            "messages": [{"role": "user", "content": "Hi"}],
            "max_tokens": 3000,
            "temperature": 1.0,
            "stream": True,
        }
        events = []
        with httpx2.stream(
            "POST", api.base_url + "/chat/completions", json=body, timeout=60
        ) as reply:
            assert reply.status_code == 200
            for line in reply.iter_lines():
                if not line.startswith("data: "):
                    continue
                events.append(line[6:])
                if len(events) == 3:
                    api.client.kill()
        assert events[-1] != "[DONE]"
        error = json.loads(events[-1])["error"]
        assert error["message"] == "The model worker stopped (killed by signal 9 (SIGKILL))."
        assert api.scheduler.state().running is None
        again = httpx2.post(api.base_url + "/chat/completions", json={**body, "stream": False})
        assert again.status_code == 503
        assert again.json()["error"]["message"] == (
            "The model worker stopped (killed by signal 9 (SIGKILL))."
        )
    finally:
        close_api(api)


@pytest.mark.parametrize("stream", [False, True])
def test_load_failure_is_503_with_its_reason(tmp_path: Path, stream: bool) -> None:
    api = make_api(ServeOptions(port=free_port()), tmp_path)
    try:
        with pytest.raises(RuntimeError, match="could not be loaded"):
            api.load(tmp_path / "no-such-checkpoint")
        body = {"model": "m", "messages": [{"role": "user", "content": "Hi"}], "stream": stream}
        reply = httpx2.post(api.base_url + "/chat/completions", json=body)
        assert reply.status_code == 503
        assert "could not be loaded" in reply.json()["error"]["message"]
    finally:
        close_api(api)
