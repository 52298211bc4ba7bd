"""Refuses what a web page in the user's browser could send: the first thing every request meets.

A page on any site can make the browser POST to ``127.0.0.1`` without asking the server
first, as long as the request is a CORS "simple" one: a body typed ``text/plain``, a form,
or none at all. Such a page cannot read the answer, but the model would still run for it.
Every body must therefore be ``application/json``, which a browser sends cross-site only
after a preflight this server does not approve (415 otherwise).

DNS rebinding goes further: the page's own name (``attacker.example``) is pointed at
127.0.0.1, so the browser thinks it talks to its own site and lets the page read the
answers. The browser still sends ``Host: attacker.example:PORT``, so a request must name
an address this server serves (421 otherwise): a loopback name, the bound address, or,
when it listens on every address, this machine's name or any IP address (an IP address
cannot be rebound).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import socket
from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

from app.local_api.errors import ApiError

log = logging.getLogger(__name__)

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
JSON_TYPE = "application/json"
_BODY_METHODS = {"POST", "PUT", "PATCH"}


def served_hosts(port: int, *addresses: str) -> frozenset[str]:
    """The `Host` values naming this server at `port`: loopback names and `addresses`."""
    names = set(LOOPBACK_NAMES)
    names |= {_bracketed(address.lower()) for address in addresses if address}
    with_port = {f"{name}:{port}" for name in names}
    if port == 80:  # a client may leave out the default port
        with_port |= names
    return frozenset(with_port)


class RequestGuard:
    """ASGI middleware: a `Host` this server serves and a JSON body, or a refusal."""

    def __init__(self, app: ASGIApp, bound: str) -> None:
        self.app = app
        self.any_ip = _is_wildcard(bound)
        # Listening on every address, the machine's own names reach it too (read once:
        # getfqdn may ask DNS).
        self.names = (socket.gethostname(), socket.getfqdn()) if self.any_ip else (bound,)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope["headers"])
        local, port = scope.get("server") or ("", 0)
        problem = self.host_problem(headers.get("host"), local, port)
        if problem is None and scope["method"] in _BODY_METHODS:
            problem = content_type_problem(headers.get("content-type"))
        if problem is None:
            await self.app(scope, receive, send)
            return
        log.info("refused %s %s: %s", scope["method"], scope.get("path", ""), problem.message)
        await _send_error(send, problem)

    def host_problem(self, host: str | None, local: str, port: int) -> ApiError | None:
        """None if `host` names this server (reached at `local`:`port`), else the 421."""
        if host is None:
            return ApiError(
                421, "The request has no Host header; send it as HTTP/1.1 clients do.",
                code="wrong_host",
            )  # fmt: skip
        name = host.strip().lower()
        if name in served_hosts(port, local, *self.names) or (
            self.any_ip and _is_ip_with_port(name, port)
        ):
            return None
        return ApiError(
            421,
            f"This server answers requests addressed to localhost:{port} or "
            f"127.0.0.1:{port}, not to {host!r:.100}. A web page on another site can "
            "make a browser send such requests (DNS rebinding), so they are refused.",
            code="wrong_host",
        )


def content_type_problem(content_type: str | None) -> ApiError | None:
    """None for ``application/json`` (any parameters, e.g. a charset), else the 415."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media == JSON_TYPE:
        return None
    got = f"it was {content_type!r:.80}" if content_type else "it had none"
    return ApiError(
        415,
        f"Send the request body as JSON with the header `Content-Type: application/json` "
        f"({got}; with curl add -H 'Content-Type: application/json'). Other types are "
        "refused because a web page can make a browser send them to this machine.",
        code="unsupported_media_type",
    )


def _headers(raw: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """The first value of each header, lower-case names (latin-1, as HTTP/1.1 sends them)."""
    headers: dict[str, str] = {}
    for name, value in raw:
        headers.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
    return headers


async def _send_error(send: Send, error: ApiError) -> None:
    body = json.dumps(error.body()).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": error.status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode("ascii")),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _is_wildcard(host: str) -> bool:
    return host in {"", "0.0.0.0", "::"}


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _is_ip_with_port(name: str, port: int) -> bool:
    address, sep, given = name.rpartition(":")
    if not sep or given != str(port):
        return False
    try:
        ipaddress.ip_address(address.removeprefix("[").removesuffix("]"))
    except ValueError:
        return False
    return True
