"""http(s) image URLs, when the user allowed them: fetched with size and time limits."""

from __future__ import annotations

import asyncio
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from app.local_api.errors import ApiError
from app.local_api.image_urls import ImagePolicy, resolve_images
from tests.local_http import serving

PICTURE = b"\x89PNG\r\n\x1a\n" + b"p" * 5000
ALLOWED = ImagePolicy(max_image_bytes=4096 * 4, fetch_http=True, fetch_timeout_s=1.0)


class _Images(BaseHTTPRequestHandler):
    release: threading.Event

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        if self.path == "/cat.png":
            self._send(200, PICTURE, {"Content-Type": "image/png"})
        elif self.path == "/huge.png":
            self._send(200, b"h" * 100_000, {"Content-Type": "image/png"})
        elif self.path == "/huge-chunked.png":
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()  # no length: the body ends when the connection closes
            self.close_connection = True
            for _ in range(100):
                self.wfile.write(b"h" * 1000)
        elif self.path == "/slow.png":
            self.release.wait(10)
            self._send(200, PICTURE, {"Content-Type": "image/png"})
        elif self.path == "/moved.png":
            self._send(302, b"", {"Location": "/cat.png"})
        else:
            self._send(404, b"no", {})

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def base(tmp_path: Path) -> object:
    release = threading.Event()
    handler = type("Images", (_Images,), {"release": release})
    with serving(handler, release, "image-server") as url:
        yield url.removesuffix("/v1")


def resolve(url: str, folder: Path, policy: ImagePolicy = ALLOWED) -> list[str]:
    return asyncio.run(resolve_images([url], folder, policy))


def test_fetched_image_is_written(base: str, tmp_path: Path) -> None:
    [path] = resolve(f"{base}/cat.png", tmp_path)
    assert Path(path).read_bytes() == PICTURE and path.endswith("image-1.png")


@pytest.mark.parametrize(
    ("name", "status", "words"),
    [
        ("huge.png", 413, "over 0.0156 MiB (0.0954 MiB)"),
        ("missing.png", 400, "answered HTTP 404"),
        ("moved.png", 400, "answered HTTP 302"),
    ],
)
def test_fetch_refusals(base: str, tmp_path: Path, name: str, status: int, words: str) -> None:
    with pytest.raises(ApiError) as caught:
        resolve(f"{base}/{name}", tmp_path)
    assert caught.value.status == status and words in caught.value.message


def test_slow_server_times_out(base: str, tmp_path: Path) -> None:
    started = time.monotonic()
    with pytest.raises(ApiError, match="took longer than 1 s"):
        resolve(f"{base}/slow.png", tmp_path)
    assert time.monotonic() - started < 5


def test_nothing_listening(tmp_path: Path) -> None:
    from app.engines.managed_server import free_port

    with pytest.raises(ApiError, match="failed"):
        resolve(f"http://127.0.0.1:{free_port()}/cat.png", tmp_path)


def test_fetching_is_off_by_default(base: str, tmp_path: Path) -> None:
    with pytest.raises(ApiError, match="turned off"):
        resolve(f"{base}/cat.png", tmp_path, ImagePolicy())


def test_a_huge_image_without_length_is_cut_off(base: str, tmp_path: Path) -> None:
    with pytest.raises(ApiError) as caught:
        resolve(f"{base}/huge-chunked.png", tmp_path)
    assert caught.value.status == 413 and "(0.0954 MiB)" not in caught.value.message
