"""A scripted HTTP server on 127.0.0.1 for tests of the server engine's error handling."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@contextmanager
def serving(
    handler: type[BaseHTTPRequestHandler], release: threading.Event, name: str
) -> Iterator[str]:
    """Serve `handler` on a free port; yields the OpenAI-style base URL (…/v1).

    On exit `release` is set, so handlers holding a request open answer, and the server
    is shut down and its thread joined.
    """
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = False
    server.block_on_close = True
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
