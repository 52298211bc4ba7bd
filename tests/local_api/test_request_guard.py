"""What a web page could make a browser send is refused: non-JSON bodies (415), other hosts (421).

The end-to-end cases send the requests byte for byte as a browser would, to a real server
on 127.0.0.1, and check the model never ran for them.
"""

from __future__ import annotations

import http.client
import json
from typing import Any

import pytest

from app.local_api.request_guard import RequestGuard, content_type_problem
from app.local_api.serving import LocalApi

MODEL = "Llama-4-Maverick-demo-random-weights"
BODY = json.dumps(
    {"model": MODEL, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2}
).encode()


@pytest.mark.parametrize(
    "given",
    ["application/json", "application/json; charset=utf-8", "Application/JSON;charset=UTF-8"],
)
def test_json_bodies_pass(given: str) -> None:
    assert content_type_problem(given) is None


@pytest.mark.parametrize(
    "given",
    [None, "", "text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded",
     "multipart/form-data; boundary=x", "application/jsonp", "text/json"],
)  # fmt: skip
def test_other_bodies_are_415_with_the_fix(given: str | None) -> None:
    problem = content_type_problem(given)
    assert problem is not None and problem.status == 415
    assert "Content-Type: application/json" in problem.message


@pytest.mark.parametrize(
    ("bound", "host", "ok"),
    [
        ("127.0.0.1", "127.0.0.1:8790", True),
        ("127.0.0.1", "localhost:8790", True),
        ("127.0.0.1", "LocalHost:8790", True),
        ("127.0.0.1", "[::1]:8790", True),
        ("127.0.0.1", "attacker.example:8790", False),
        ("127.0.0.1", "127.0.0.1:8791", False),
        ("127.0.0.1", "127.0.0.1", False),  # no port: port 80, not ours
        ("127.0.0.1", "localhost.:8790", False),
        ("127.0.0.1", "192.168.1.5:8790", False),
        ("192.168.1.5", "192.168.1.5:8790", True),
        ("::1", "[::1]:8790", True),
        ("0.0.0.0", "192.168.1.5:8790", True),  # an IP address cannot be rebound
        ("0.0.0.0", "[fe80::1]:8790", True),
        ("0.0.0.0", "attacker.example:8790", False),
        ("0.0.0.0", "192.168.1.5:9", False),
    ],
)
def test_host_must_name_this_server(bound: str, host: str, ok: bool) -> None:
    problem = RequestGuard(None, bound).host_problem(host, "127.0.0.1", 8790)  # type: ignore[arg-type]
    assert (problem is None) is ok, problem
    if problem is not None:
        assert problem.status == 421 and "DNS rebinding" in problem.message


def test_missing_host_is_refused() -> None:
    problem = RequestGuard(None, "127.0.0.1").host_problem(None, "127.0.0.1", 8790)  # type: ignore[arg-type]
    assert problem is not None and problem.status == 421


def _send(api: LocalApi, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> Any:
    """One request over a raw connection; (status, decoded JSON body)."""
    connection = http.client.HTTPConnection("127.0.0.1", api.options.port, timeout=60)
    try:
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for name, value in headers.items():
            connection.putheader(name, value)
        if body:
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body or None)
        reply = connection.getresponse()
        return reply.status, json.loads(reply.read())
    finally:
        connection.close()


def _browser(api: LocalApi, host: str | None = None, **extra: str) -> dict[str, str]:
    """Headers Chromium sends for a cross-site fetch from https://evil.example."""
    return {
        "Host": host or f"127.0.0.1:{api.options.port}",
        "Origin": "https://evil.example",
        "Referer": "https://evil.example/",
        "Sec-Fetch-Site": "cross-site",
        "Sec-Fetch-Mode": "no-cors",
        "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0",
        "Accept": "*/*",
        **extra,
    }


@pytest.mark.parametrize(
    "content_type",
    ["text/plain;charset=UTF-8", "application/x-www-form-urlencoded", None],
    ids=["fetch with a string body", "form post", "fetch with an untyped Blob"],
)
def test_cross_site_simple_post_is_refused_unrun(api: LocalApi, content_type: str | None) -> None:
    served = api.scheduler.state().served_api
    headers = _browser(api) | ({"Content-Type": content_type} if content_type else {})
    status, reply = _send(api, "POST", "/v1/chat/completions", headers, BODY)
    assert status == 415, reply
    assert reply["error"]["code"] == "unsupported_media_type"
    assert api.scheduler.state().served_api == served


def test_dns_rebinding_is_refused(api: LocalApi) -> None:
    """The page's own name points at 127.0.0.1: same-origin to the browser, not to us."""
    served = api.scheduler.state().served_api
    host = f"attacker.example:{api.options.port}"
    same_origin = {"Sec-Fetch-Site": "same-origin", "Origin": f"http://{host}"}
    status, reply = _send(api, "GET", "/v1/models", _browser(api, host, **same_origin))
    assert status == 421 and "attacker.example" in reply["error"]["message"], reply
    json_post = _browser(api, host, **same_origin, **{"Content-Type": "application/json"})
    status, reply = _send(api, "POST", "/v1/chat/completions", json_post, BODY)
    assert status == 421 and reply["error"]["code"] == "wrong_host", reply
    assert api.scheduler.state().served_api == served


def test_curl_editors_and_the_openai_client_still_work(api: LocalApi) -> None:
    port = api.options.port
    curl = {"Host": f"localhost:{port}", "User-Agent": "curl/8.5.0", "Accept": "*/*",
            "Content-Type": "application/json; charset=utf-8"}  # fmt: skip
    status, reply = _send(api, "POST", "/v1/chat/completions", curl, BODY)
    assert status == 200 and reply["usage"]["completion_tokens"] == 2, reply
    status, reply = _send(api, "GET", "/v1/models", {"Host": f"[::1]:{port}"})
    assert status == 200 and reply["data"][0]["id"] == MODEL

    import openai

    client = openai.OpenAI(base_url=api.base_url, api_key="unused", max_retries=0, timeout=120)
    answer = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Hi"}], max_tokens=2
    )
    assert answer.usage is not None and answer.usage.completion_tokens == 2
