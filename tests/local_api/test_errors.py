"""Every error status, in OpenAI's shape, over raw HTTP and through the openai client."""

from __future__ import annotations

import http.client
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from app.engines.managed_server import free_port
from app.local_api.serving import LocalApi, ServeOptions
from tests.local_api.conftest import close_api, make_api

KEY = "test-key-4f1c"


def error_of(reply: httpx2.Response, status: int) -> dict[str, Any]:
    assert reply.status_code == status, reply.text
    error: dict[str, Any] = reply.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert isinstance(error["message"], str) and error["message"].endswith((".", ")"))
    return error


def chat_body(model: str = "any", **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": "Hi"}], **extra}


@pytest.fixture(scope="module")
def unloaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalApi]:
    """An API with a key, a 4 KiB body limit and no model loaded (its worker not started)."""
    options = ServeOptions(port=free_port(), api_key=KEY, max_body_bytes=4096)
    served = make_api(options, tmp_path_factory.mktemp("unloaded"), start_worker=False)
    yield served
    close_api(served)


def test_503_while_no_model_is_loaded(unloaded: LocalApi) -> None:
    auth = {"Authorization": f"Bearer {KEY}"}
    for reply in (
        httpx2.get(unloaded.base_url + "/models", headers=auth),
        httpx2.post(unloaded.base_url + "/chat/completions", json=chat_body(), headers=auth),
    ):
        error = error_of(reply, 503)
        assert error["code"] == "model_not_loaded" and "still loading" in error["message"]
        assert reply.headers["retry-after"] == "5"


def test_401_without_or_with_a_wrong_key(unloaded: LocalApi) -> None:
    url = unloaded.base_url + "/chat/completions"
    assert error_of(httpx2.post(url, json=chat_body()), 401)["code"] == "missing_api_key"
    wrong = httpx2.post(url, json=chat_body(), headers={"Authorization": "Bearer nope"})
    assert error_of(wrong, 401)["type"] == "authentication_error"
    basic = httpx2.get(unloaded.base_url + "/models", headers={"Authorization": f"Basic {KEY}"})
    assert error_of(basic, 401)["code"] == "invalid_api_key"

    import openai

    client = openai.OpenAI(base_url=unloaded.base_url, api_key="nope", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        client.models.list()


def _read_reply(sock: socket.socket) -> str:
    """A whole HTTP reply, read by the standard library: status line, headers and body.

    One recv can return the headers alone (uvicorn writes the body in a second send).
    """
    response = http.client.HTTPResponse(sock)
    response.begin()
    version = "HTTP/1.1" if response.version == 11 else "HTTP/1.0"
    status = f"{version} {response.status} {response.reason}\r\n"
    return status + str(response.headers) + response.read().decode()


def test_413_from_content_length_before_the_body_is_sent(unloaded: LocalApi) -> None:
    head = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{unloaded.options.port}\r\n"
        f"Content-Type: application/json\r\nAuthorization: Bearer {KEY}\r\n"
        "Content-Length: 1000000000\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", unloaded.options.port), timeout=10) as sock:
        sock.sendall(head.encode())  # and no body at all: the answer must not wait for it
        reply = _read_reply(sock)
    assert reply.startswith("HTTP/1.1 413"), reply
    assert "request_too_large" in reply and "accepts up to" in reply


def test_413_for_a_chunked_body_past_the_limit(unloaded: LocalApi) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"model": "x", "messages": [{"role": "user", "content": "'
        for _ in range(100):
            yield b"a" * 1024

    reply = httpx2.post(
        unloaded.base_url + "/chat/completions",
        content=chunks(),
        headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"},
    )
    assert error_of(reply, 413)["code"] == "request_too_large"


def test_404_unknown_model_and_path_405_method(api: LocalApi) -> None:
    reply = httpx2.post(api.base_url + "/chat/completions", json=chat_body("gpt-4o"))
    error = error_of(reply, 404)
    assert error["code"] == "model_not_found" and api.model.model_id in error["message"]
    assert error_of(httpx2.get(api.base_url + "/models/gpt-4o"), 404)["param"] == "model"
    assert "/v1" in error_of(httpx2.get(api.base_url + "/completions/x"), 404)["message"]
    error_of(httpx2.get(api.base_url + "/chat/completions"), 405)


def test_404_through_the_openai_client(api: LocalApi, openai_client: Any) -> None:
    import openai

    with pytest.raises(openai.NotFoundError, match="not served here"):
        openai_client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "Hi"}]
        )


def test_413_for_an_image_past_the_image_limit(api: LocalApi) -> None:
    huge = "data:image/png;base64," + "A" * (28 * 1024 * 1024)
    content = [{"type": "image_url", "image_url": {"url": huge}}]
    body = {"model": api.model.model_id, "messages": [{"role": "user", "content": content}]}
    error = error_of(httpx2.post(api.base_url + "/chat/completions", json=body, timeout=60), 413)
    assert error["code"] == "image_too_large"


def test_400_from_the_worker_for_a_bad_image(api: LocalApi, images: dict[str, Path]) -> None:
    import base64

    junk = "data:image/png;base64," + base64.b64encode(images["text"].read_bytes()).decode()
    content = [{"type": "text", "text": "What is this?"}, {"type": "image_url", "image_url": junk}]
    body = {"model": api.model.model_id, "messages": [{"role": "user", "content": content}]}
    for stream in (False, True):
        reply = httpx2.post(api.base_url + "/chat/completions", json={**body, "stream": stream})
        assert "is not an image that can be read" in error_of(reply, 400)["message"]
    assert api.scheduler.state().running is None
