"""An OpenAI chat completion request, checked field by field into what the worker takes.

Every problem is a 400 with a sentence that names the field (``param``), so a client
learns what to change. Fields the worker cannot honour (tools, several choices, log
probabilities, JSON mode) are refused rather than silently ignored; harmless ones a
client library sends by default (``user``, zero penalties) are accepted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from app.local_api.errors import ApiError, bad_request

ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}
MAX_STOP = 4
MAX_STOP_CHARS = 200


@dataclass(frozen=True)
class RequestLimits:
    """How much one request may ask for."""

    max_messages: int = 256
    max_parts: int = 64  # content parts in one message
    image_limit: int = 5  # images in the whole request, as the worker was loaded with


@dataclass(frozen=True)
class RequestTurn:
    """One message: its role as the worker names it, its text and its image URLs."""

    role: str
    text: str
    image_urls: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChatRequest:
    """A checked request. None means: use the model's default."""

    model: str
    turns: tuple[RequestTurn, ...]
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    seed: int | None = None
    stop: tuple[str, ...] = ()
    stream: bool = False
    include_usage: bool = False


def parse_chat_request(body: Any, limits: RequestLimits) -> ChatRequest:
    """Check a decoded JSON body; raise `ApiError` (400) for the first problem found."""
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    _refuse_unsupported(body)
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise bad_request("`model` must be the name of a model from GET /v1/models.", "model")
    turns = _turns(body.get("messages"), limits)
    stream = _optional_bool(body, "stream") or False
    options = body.get("stream_options")
    include_usage = False
    if options is not None:
        if not stream:
            raise bad_request(
                "`stream_options` is only allowed with `stream: true`.", "stream_options"
            )
        if not isinstance(options, dict):
            raise bad_request("`stream_options` must be an object.", "stream_options")
        usage = _optional_bool(options, "include_usage", "stream_options.include_usage")
        include_usage = bool(usage)
    return ChatRequest(
        model=model,
        turns=turns,
        max_tokens=_max_tokens(body),
        temperature=_number(body, "temperature", 0.0, 2.0, low_open=False),
        top_p=_number(body, "top_p", 0.0, 1.0, low_open=True),
        seed=_integer(body, "seed", -(2**63), 2**63 - 1),
        stop=_stop(body.get("stop")),
        stream=stream,
        include_usage=include_usage,
    )


def _refuse_unsupported(body: dict[str, Any]) -> None:
    if body.get("tools") or body.get("functions"):
        raise bad_request("Tools are not supported by this server yet.", "tools")
    n = body.get("n")
    if n is not None and n != 1:
        raise bad_request("Only one choice per request is supported (`n` must be 1).", "n")
    if body.get("logprobs"):
        raise bad_request("Log probabilities are not supported.", "logprobs")
    fmt = body.get("response_format")
    if fmt is not None and not (isinstance(fmt, dict) and fmt.get("type") == "text"):
        raise bad_request("Only `response_format: {type: text}` is supported.", "response_format")


def _turns(messages: Any, limits: RequestLimits) -> tuple[RequestTurn, ...]:
    if not isinstance(messages, list) or not messages:
        raise bad_request("`messages` must be a non-empty list of messages.", "messages")
    if len(messages) > limits.max_messages:
        raise bad_request(
            f"{len(messages):,} messages in one request; the limit is {limits.max_messages}.",
            "messages",
        )
    turns = tuple(_turn(message, i, limits) for i, message in enumerate(messages))
    if turns[-1].role != "user":
        raise bad_request("The last message must be from the user.", "messages")
    images = sum(len(turn.image_urls) for turn in turns)
    if images > limits.image_limit:
        raise bad_request(
            f"{images} images in one request; the limit is {limits.image_limit}.",
            "messages",
            code="too_many_images",
        )
    return turns


def _turn(message: Any, index: int, limits: RequestLimits) -> RequestTurn:
    where = f"messages[{index}]"
    if not isinstance(message, dict):
        raise bad_request(f"`{where}` must be an object with `role` and `content`.", where)
    role = message.get("role")
    if not isinstance(role, str) or role not in ROLES:
        raise bad_request(
            f"`{where}.role` must be system, developer, user or assistant; got {role!r:.40}.",
            f"{where}.role",
        )
    content = message.get("content")
    if isinstance(content, str):
        return RequestTurn(ROLES[role], content)
    if role == "assistant" and content is None:
        return RequestTurn("assistant", "")
    if not isinstance(content, list):
        raise bad_request(f"`{where}.content` must be a string or a list of parts.", where)
    if len(content) > limits.max_parts:
        raise bad_request(
            f"`{where}.content` has {len(content):,} parts; the limit is {limits.max_parts}.",
            f"{where}.content",
        )
    texts: list[str] = []
    urls: list[str] = []
    for j, part in enumerate(content):
        kind, value = _part(part, f"{where}.content[{j}]")
        if kind == "image_url" and ROLES[role] != "user":
            raise bad_request(f"Images are only allowed in user messages ({where}).", where)
        (urls if kind == "image_url" else texts).append(value)
    return RequestTurn(ROLES[role], "\n".join(texts), tuple(urls))


def _part(part: Any, where: str) -> tuple[str, str]:
    if not isinstance(part, dict):
        raise bad_request(f"`{where}` must be an object with a `type`.", where)
    kind = part.get("type")
    if kind == "text":
        text = part.get("text")
        if not isinstance(text, str):
            raise bad_request(f"`{where}.text` must be a string.", f"{where}.text")
        return "text", text
    if kind == "image_url":
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, dict) else image
        if not isinstance(url, str) or not url:
            raise bad_request(f"`{where}.image_url.url` must be a string.", f"{where}.image_url")
        return "image_url", url
    raise bad_request(
        f"`{where}.type` must be text or image_url; got {kind!r:.40}.", f"{where}.type"
    )


def _optional_bool(body: dict[str, Any], name: str, param: str | None = None) -> bool | None:
    value = body.get(name)
    if value is not None and not isinstance(value, bool):
        raise bad_request(f"`{param or name}` must be true or false.", param or name)
    return value


def _integer(body: dict[str, Any], name: str, low: int, high: int) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise bad_request(f"`{name}` must be a whole number from {low} to {high}.", name)
    return value


def _number(
    body: dict[str, Any], name: str, low: float, high: float, *, low_open: bool
) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    ok = not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)
    if ok:
        ok = (value > low if low_open else value >= low) and value <= high
    if not ok:
        above = "greater than" if low_open else "at least"
        raise bad_request(f"`{name}` must be a number {above} {low:g} and at most {high:g}.", name)
    return float(value)


def _max_tokens(body: dict[str, Any]) -> int | None:
    for name in ("max_completion_tokens", "max_tokens"):
        value = body.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise bad_request(f"`{name}` must be a whole number of at least 1.", name)
        return value
    return None


def _stop(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    stops = [value] if isinstance(value, str) else value
    if not isinstance(stops, list) or len(stops) > MAX_STOP:
        raise bad_request(f"`stop` must be a string or a list of up to {MAX_STOP}.", "stop")
    for stop in stops:
        if not isinstance(stop, str) or not stop or len(stop) > MAX_STOP_CHARS:
            raise bad_request(
                f"Each `stop` must be a non-empty string of at most {MAX_STOP_CHARS} characters.",
                "stop",
            )
    return tuple(stops)


__all__ = ["ApiError", "ChatRequest", "RequestLimits", "RequestTurn", "parse_chat_request"]
