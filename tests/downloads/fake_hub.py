"""A small Hugging Face hub on 127.0.0.1, for download tests (point HF_ENDPOINT at it).

It answers the calls `huggingface_hub` makes: the model info with files, sizes and
checksums (``/api/models/OWNER/NAME/revision/REV?blobs=true``) and the files
(``/OWNER/NAME/resolve/REV/PATH``, HEAD and GET, with ETag, X-Repo-Commit,
X-Linked-Size and Range requests). Tests script trouble per file: a connection cut
after some bytes, a stall until released, damaged content, a gated repository.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

COMMIT = "0123456789abcdef0123456789abcdef01234567"
_RESOLVE = re.compile(r"^/([^/]+/[^/]+)/resolve/([^/]+)/(.+)$")
_INFO = re.compile(r"^/api/models/([^/]+/[^/]+)(?:/revision/([^/?]+))?$")


@dataclass
class FakeRepo:
    """What the hub serves and how it misbehaves."""

    repo_id: str
    files: dict[str, bytes]
    gated: bool = False  # files answer 401 (no token) / 403 (a token) as a gated repo does
    damaged: set[str] = field(default_factory=set)  # served with one byte changed
    cut_after: dict[str, int] = field(default_factory=dict)  # first GET closes after N bytes
    hold_after: dict[str, int] = field(default_factory=dict)  # GETs stall after N bytes…
    ignore_range: bool = False  # answer 200 with the whole file, as some proxies do
    release: threading.Event = field(default_factory=threading.Event)  # …until this is set
    requests: list[tuple[str, str, str]] = field(default_factory=list)  # method, file, Range

    def sibling(self, name: str) -> dict[str, Any]:
        data = self.files[name]
        entry: dict[str, Any] = {"rfilename": name, "size": len(data)}
        if name.endswith(".safetensors"):
            sha = hashlib.sha256(data).hexdigest()
            entry["lfs"] = {"sha256": sha, "size": len(data), "pointerSize": 134}
        else:
            blob = hashlib.sha1(f"blob {len(data)}\0".encode() + data).hexdigest()  # noqa: S324
            entry["blobId"] = blob
        return entry


def demo_repo(folder: Path, repo_id: str = "test-org/demo-model") -> FakeRepo:
    """The demo checkpoint's files as a repository (the weights as LFS files)."""
    files = {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}
    return FakeRepo(repo_id, files)


class _Handler(BaseHTTPRequestHandler):
    repo: FakeRepo
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:  # noqa: N802
        self._answer(body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(body=False)

    def _answer(self, body: bool) -> None:
        repo = self.repo
        path = self.path.split("?", 1)[0]
        info = _INFO.match(path)
        if self.headers.get("Authorization") == "Bearer hf_revoked":
            return self._error(401, "", "Invalid credentials in Authorization header")
        if info and body:
            if info.group(1) != repo.repo_id:
                return self._error(401, "RepoNotFound", "Repository not found")
            payload = {
                "id": repo.repo_id,
                "sha": COMMIT,
                "gated": "manual" if repo.gated else False,
                "private": False,
                "siblings": [repo.sibling(name) for name in repo.files],
            }
            return self._send(200, json.dumps(payload).encode(), "application/json")
        match = _RESOLVE.match(path)
        if not match or match.group(1) != repo.repo_id or match.group(3) not in repo.files:
            return self._error(404, "EntryNotFound", "Entry not found")
        name = match.group(3)
        repo.requests.append((self.command, name, self.headers.get("Range", "")))
        if repo.gated:
            status = 403 if self.headers.get("Authorization") else 401
            return self._error(status, "GatedRepo", "Access to this model is restricted.")
        data = repo.files[name]
        if name in repo.damaged:
            data = bytes([data[0] ^ 0xFF]) + data[1:]
        headers = {"X-Repo-Commit": COMMIT, "Accept-Ranges": "bytes"}
        sibling = repo.sibling(name)
        etag = sibling["lfs"]["sha256"] if "lfs" in sibling else sibling["blobId"]
        headers["ETag"] = f'"{etag}"'
        if "lfs" in sibling:
            headers["X-Linked-Etag"] = f'"{etag}"'
            headers["X-Linked-Size"] = str(len(data))
        start = 0
        ranged = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", ""))
        partial = bool(ranged and body and not repo.ignore_range)
        if ranged and partial:
            start = int(ranged.group(1))
            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        self.send_response(206 if partial else 200)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        if not body:
            return None
        self._stream(name, data, start)
        return None

    def _stream(self, name: str, data: bytes, start: int) -> None:
        repo = self.repo
        cut = repo.cut_after.pop(name, None)
        hold = repo.hold_after.get(name)
        if cut is not None and cut > start:
            self.wfile.write(data[start:cut])
            self.wfile.flush()
            self.close_connection = True
            return
        if hold is not None and hold > start and not repo.release.is_set():
            self.wfile.write(data[start:hold])
            self.wfile.flush()
            repo.release.wait(30)
            start = hold
        self.wfile.write(data[start:])

    def _error(self, status: int, code: str, message: str) -> None:
        payload = json.dumps({"error": message}).encode()
        self.send_response(status)
        if code:
            self.send_header("X-Error-Code", code)
        self.send_header("X-Error-Message", message)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _send(self, status: int, payload: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@contextmanager
def serving(repo: FakeRepo) -> Iterator[str]:
    """Serve `repo` on a free port of 127.0.0.1; yields the endpoint (for HF_ENDPOINT)."""
    handler = type("Handler", (_Handler,), {"repo": repo})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="fake-hub", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        repo.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
