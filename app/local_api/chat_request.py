"""An OpenAI chat completion request, checked field by field into what the worker takes.

Every problem is a 400 with a sentence that names the field (``param``), so a client
learns what to change. Fields the worker cannot honour (several choices, log
probabilities, JSON mode, a forced tool choice) are refused rather than silently
ignored; harmless ones a client library sends by default (``user``, zero penalties) are
accepted.

Tools are OpenAI's: ``tools`` (functions with a JSON-schema ``parameters``) go to Llama 4's
chat template, an assistant message's ``tool_calls`` and the ``tool`` messages that answer
them become the template's tool turns, and ``tool_choice`` may be ``auto`` or ``none``.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from app.local_api.errors import ApiError, bad_request
from app.vocabulary.sampling import KNOBS
from app.workers.json_depth import deeper_than, depth_sentence

ROLES = {
    "system": "system",
    "developer": "system",
    "user": "user",
    "assistant": "assistant",
    "tool": "tool",
}
MAX_STOP = 4
MAX_STOP_CHARS = 200
MAX_TOOLS = 128
MAX_TOOL_CALLS = 32  # in one assistant message
_TOO_DEEP = object()  # arguments Python's JSON could not decode for their depth
TOOL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]{0,63}")  # what the pythonic form can name


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
    # On an assistant message: its calls, each {"id", "name", "arguments": {...}}.
    tool_calls: tuple[dict[str, Any], ...] = ()
    tool_call_id: str = ""  # on a tool message: the call it answers


@dataclass(frozen=True)
class ChatRequest:
    """A checked request. None means: use the model's default."""

    model: str
    turns: tuple[RequestTurn, ...]
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    seed: int | None = None
    # vLLM's own sampling parameters (openai: extra_body), by the app's names: min_p…
    extra: dict[str, Any] = field(default_factory=dict)
    stop: tuple[str, ...] = ()
    stream: bool = False
    include_usage: bool = False
    # Offered to the model: {"type": "function", "function": {name, description, parameters}}.
    tools: tuple[dict[str, Any], ...] = ()
    parallel_tool_calls: bool = True
    # `response_format` json_object or json_schema: the answer is constrained to this.
    json_schema: dict[str, Any] | None = None


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
        extra=_extra_sampling(body),
        seed=_integer(body, "seed", -(2**63), 2**63 - 1),
        stop=_stop(body.get("stop")),
        stream=stream,
        include_usage=include_usage,
        tools=_offered_tools(body),
        parallel_tool_calls=_optional_bool(body, "parallel_tool_calls") is not False,
        json_schema=_response_schema(body),
    )


def _refuse_unsupported(body: dict[str, Any]) -> None:
    if body.get("functions") or body.get("function_call"):
        raise bad_request(
            "`functions` and `function_call` are OpenAI's old names; send `tools` instead.",
            "functions",
        )
    n = body.get("n")
    if n is not None and n != 1:
        raise bad_request("Only one choice per request is supported (`n` must be 1).", "n")
    if body.get("logprobs"):
        raise bad_request("Log probabilities are not supported.", "logprobs")


def _response_schema(body: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON Schema an answer is held to, from OpenAI's `response_format`, or None."""
    fmt = body.get("response_format")
    if fmt is None:
        return None
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    if kind == "text":
        return None
    if kind == "json_object":
        return {"type": "object"}
    if kind != "json_schema":
        raise bad_request(
            "`response_format.type` must be text, json_object or json_schema.",
            "response_format.type",
        )
    if body.get("tools"):
        raise bad_request(
            "`response_format` and `tools` cannot be combined: an answer is either JSON or "
            "tool calls.",
            "response_format",
        )
    spec = fmt.get("json_schema")
    if not isinstance(spec, dict) or not isinstance(spec.get("schema"), dict):
        raise bad_request(
            "`response_format.json_schema.schema` must be a JSON Schema object.",
            "response_format.json_schema.schema",
        )
    from app.structured.schema import SchemaError, check_schema

    try:
        return check_schema(spec["schema"])
    except SchemaError as exc:
        raise bad_request(str(exc), "response_format.json_schema.schema") from None


def _turns(messages: Any, limits: RequestLimits) -> tuple[RequestTurn, ...]:
    if not isinstance(messages, list) or not messages:
        raise bad_request("`messages` must be a non-empty list of messages.", "messages")
    if len(messages) > limits.max_messages:
        raise bad_request(
            f"{len(messages):,} messages in one request; the limit is {limits.max_messages}.",
            "messages",
        )
    turns = tuple(_turn(message, i, limits) for i, message in enumerate(messages))
    if turns[-1].role not in {"user", "tool"}:
        raise bad_request("The last message must be from the user, or a tool's result.", "messages")
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
            f"`{where}.role` must be system, developer, user, assistant or tool; got {role!r:.40}.",
            f"{where}.role",
        )
    if role == "tool":
        return _tool_turn(message, where, limits)
    content = message.get("content")
    calls = _assistant_calls(message, where) if role == "assistant" else ()
    if isinstance(content, str):
        return RequestTurn(ROLES[role], content, tool_calls=calls)
    if role == "assistant" and content is None:
        if not calls and "tool_calls" not in message:
            return RequestTurn("assistant", "")
        return RequestTurn("assistant", "", tool_calls=calls)
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
    return RequestTurn(ROLES[role], "\n".join(texts), tuple(urls), tool_calls=calls)


def _tool_turn(message: dict[str, Any], where: str, limits: RequestLimits) -> RequestTurn:
    """A tool's result: text (or text parts) answering the call `tool_call_id` names."""
    call_id = message.get("tool_call_id")
    if not isinstance(call_id, str) or not call_id:
        raise bad_request(
            f"`{where}.tool_call_id` must name the call this result answers.",
            f"{where}.tool_call_id",
        )
    content = message.get("content")
    if isinstance(content, str):
        return RequestTurn("tool", content, tool_call_id=call_id)
    if not isinstance(content, list) or len(content) > limits.max_parts:
        raise bad_request(
            f"`{where}.content` must be a string or a list of up to {limits.max_parts} text parts.",
            f"{where}.content",
        )
    texts = []
    for j, part in enumerate(content):
        kind, value = _part(part, f"{where}.content[{j}]")
        if kind != "text":
            raise bad_request(
                f"A tool message holds text only ({where}.content[{j}]); send an image the "
                "tool made in a user message after it.",
                f"{where}.content[{j}]",
            )
        texts.append(value)
    return RequestTurn("tool", "\n".join(texts), tool_call_id=call_id)


def _assistant_calls(message: dict[str, Any], where: str) -> tuple[dict[str, Any], ...]:
    """An assistant message's `tool_calls`, their arguments decoded from JSON."""
    calls = message.get("tool_calls")
    if calls is None:
        return ()
    if not isinstance(calls, list) or len(calls) > MAX_TOOL_CALLS:
        raise bad_request(
            f"`{where}.tool_calls` must be a list of up to {MAX_TOOL_CALLS} calls.",
            f"{where}.tool_calls",
        )
    out = []
    for j, call in enumerate(calls):
        at = f"{where}.tool_calls[{j}]"
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or call.get("type", "function") != "function":
            raise bad_request(
                f'`{at}` must be {{"id", "type": "function", "function": '
                '{"name", "arguments"}}.',
                at,
            )
        name = function.get("name")
        if not isinstance(name, str) or not name:
            raise bad_request(f"`{at}.function.name` must be the tool's name.", f"{at}.function")
        arguments = function.get("arguments", "{}")
        try:
            decoded = json.loads(arguments) if isinstance(arguments, str) else None
        except ValueError:
            decoded = None
        except RecursionError:
            decoded = _TOO_DEEP
        if decoded is _TOO_DEEP or deeper_than(decoded):
            where_arguments = f"{at}.function.arguments"
            raise bad_request(depth_sentence(where_arguments), where_arguments)
        if not isinstance(decoded, dict):
            raise bad_request(
                f"`{at}.function.arguments` must be a JSON object written as a string, as "
                "the model sent it.",
                f"{at}.function.arguments",
            )
        call_id = call.get("id")
        out.append({"id": call_id if isinstance(call_id, str) else "", "name": name,
                    "arguments": decoded})  # fmt: skip
    return tuple(out)


def _offered_tools(body: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    """`tools` as the chat template takes them; none when `tool_choice` is "none"."""
    tools = body.get("tools")
    choice = body.get("tool_choice")
    if choice is not None and choice not in ("auto", "none"):
        raise bad_request(
            '`tool_choice` may be "auto" or "none" here: the local model decides for '
            "itself whether to call a tool, and a forced call cannot be guaranteed.",
            "tool_choice",
        )
    if tools is None:
        return ()
    if not isinstance(tools, list) or len(tools) > MAX_TOOLS:
        raise bad_request(f"`tools` must be a list of up to {MAX_TOOLS} tools.", "tools")
    offered = []
    names = set()
    for i, tool in enumerate(tools):
        at = f"tools[{i}]"
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(function, dict) or tool.get("type") != "function":
            raise bad_request(
                f'`{at}` must be {{"type": "function", "function": {{"name", '
                '"description", "parameters"}}}.',
                at,
            )
        name = function.get("name")
        if not isinstance(name, str) or not TOOL_NAME.fullmatch(name):
            raise bad_request(
                f"`{at}.function.name` must be 1 to 64 letters, digits, _ . or -, starting "
                f"with a letter or _; got {name!r:.70}.",
                f"{at}.function.name",
            )
        if name in names:
            raise bad_request(f"Two tools are named {name!r}.", f"{at}.function.name")
        names.add(name)
        description = function.get("description", "")
        if not isinstance(description, str):
            raise bad_request(
                f"`{at}.function.description` must be a string.", f"{at}.function.description"
            )
        parameters = function.get("parameters", {"type": "object", "properties": {}})
        if not isinstance(parameters, dict):
            raise bad_request(
                f"`{at}.function.parameters` must be a JSON schema object.",
                f"{at}.function.parameters",
            )
        if deeper_than(parameters):
            where = f"{at}.function.parameters"
            raise bad_request(depth_sentence(where), where)
        offered.append(
            {
                "type": "function",
                "function": {"name": name, "description": description, "parameters": parameters},
            }
        )
    return () if choice == "none" else tuple(offered)


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


def _extra_sampling(body: dict[str, Any]) -> dict[str, Any]:
    """The sampling settings OpenAI lacks and vLLM takes in the body (min_p…), checked."""
    extra: dict[str, Any] = {}
    for name, knob in KNOBS.items():
        if knob.server != "extra" or body.get(name) is None:
            continue
        if not knob.allows(body[name]):
            raise bad_request(f"`{name}` {knob.rule}", name)
        extra[name] = body[name]
    return extra


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
