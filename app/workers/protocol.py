"""The messages between the app and its worker process.

One JSON object per line. Every message carries the protocol version ``v``, its
``kind`` and, where it belongs to a request, the ``request_id``. Requests go from
the app to the worker on the worker's stdin; events come back on its stdout.
Nothing here is ever a pickled Python object.

Every `Load` and `Generate` ends in exactly one of: `Ready` (for a load) or
`Done` (for a generation), `Error`, or `Cancelled`; a `FreeCache` ends in
`CacheFreed`. `WorkerDied` is made by the client when the worker process exits
unexpectedly.

Fields are only ever added, with a default, within a version: a message from an
older peer still decodes (e.g. a `Done` without `cached_prompt_tokens`).

The ``kind`` strings are part of the wire format: never change or reuse one.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, ClassVar

from app.vocabulary.sampling import KNOBS, Sampling
from app.workers.json_depth import MAX_JSON_DEPTH, deeper_than, depth_sentence

SAMPLING_FIELDS = tuple(KNOBS)

PROTOCOL_VERSION = 1


class ProtocolError(ValueError):
    """A line that is not a valid message of this protocol version."""


@dataclass(frozen=True)
class Message:
    """Base of every message; subclasses set `kind`."""

    kind: ClassVar[str] = ""


# ---------------------------------------------------------------- requests

# How many conversations' KV caches a worker keeps unless told otherwise, and the most a
# setting may ask for (each can hold several GB on Maverick; the byte budget bounds them too).
DEFAULT_PROMPT_CACHE_ENTRIES = 1
MAX_PROMPT_CACHE_ENTRIES = 16


@dataclass(frozen=True)
class Load(Message):
    """Load a checkpoint folder: `LoadProgress`…, then `Ready`, `Error` or `Cancelled`."""

    kind: ClassVar[str] = "load"
    request_id: str
    checkpoint: str
    attn_implementation: str = "sdpa"
    image_limit: int = 5
    # Write the demo checkpoint first if `checkpoint` is a missing demo folder (…/bf16 or …/fp8).
    create_demo_if_missing: bool = False
    # How many conversations' KV caches the worker keeps (0: none), and the bytes they may
    # take (0: half of the device's free memory).
    prompt_cache_entries: int = DEFAULT_PROMPT_CACHE_ENTRIES
    prompt_cache_bytes: int = 0


@dataclass(frozen=True)
class ChatTurn:
    """A message of the conversation as the worker receives it."""

    role: str  # system, user, assistant, or tool (a tool's result)
    text: str
    images: list[str] = field(default_factory=list)
    # On an assistant turn: the tool calls it made, each {"name": str, "arguments": {...}}.
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    tool_call_id: str = ""  # on a tool turn: the call it answers (servers need it)


@dataclass(frozen=True)
class Generate(Message):
    """Generate an answer to `messages`; streamed as `Token`s, then `Done`/`Error`/`Cancelled`."""

    kind: ClassVar[str] = "generate"
    request_id: str
    messages: list[ChatTurn]
    # On the wire its fields sit in the message itself (max_new_tokens, temperature,
    # top_p, seed, min_p, …), as they always did; a field an older peer did not send
    # takes its default.
    sampling: Sampling = field(default_factory=Sampling)
    # Tool definitions for the chat template: {"type": "function", "function": {name,
    # description, parameters}}; empty for a plain chat.
    tools: list[dict[str, Any]] = field(default_factory=list)
    # A JSON Schema (bounded by app.structured) the answer is constrained to; None: free text.
    json_schema: dict[str, Any] | None = None


@dataclass(frozen=True)
class Cancel(Message):
    """Stop the named generation after the token being generated, or the named load."""

    kind: ClassVar[str] = "cancel"
    request_id: str


@dataclass(frozen=True)
class FreeCache(Message):
    """Forget the kept KV caches (after the running generation); answered by `CacheFreed`."""

    kind: ClassVar[str] = "free_cache"
    request_id: str


@dataclass(frozen=True)
class Shutdown(Message):
    """Finish the current step and exit."""

    kind: ClassVar[str] = "shutdown"


# ------------------------------------------------------------------ events


@dataclass(frozen=True)
class Hello(Message):
    """The first line a worker writes: it is up and speaks this protocol."""

    kind: ClassVar[str] = "hello"
    pid: int
    python: str


@dataclass(frozen=True)
class LoadProgress(Message):
    """A step of loading: e.g. stage 'checking shards', 3 of 5 done.

    While the weights load, `bytes_done` of `bytes_total` says how much of the
    checkpoint is in memory (0 and 0 in other stages).
    """

    kind: ClassVar[str] = "load_progress"
    request_id: str
    stage: str
    done: int
    total: int
    bytes_done: int = 0
    bytes_total: int = 0


@dataclass(frozen=True)
class Ready(Message):
    """The model is loaded and can generate."""

    kind: ClassVar[str] = "ready"
    request_id: str
    name: str
    path: str
    parameters: int
    active_parameters: int
    quantisation: str
    devices: list[str]
    context_length: int
    is_demo: bool
    load_seconds: float
    generation_defaults: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    # What the worker runs on, for Help > About: e.g. {"torch": "2.5.1",
    # "transformers": "4.51.0", "cuda": "12.4" or "none", "python": "3.11.9",
    # "attention": "sdpa"} (the attention implementation the model runs with).
    runtime: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Token(Message):
    """New text of a generation; several tokens are coalesced when they come fast."""

    kind: ClassVar[str] = "token"
    request_id: str
    text: str
    token_ids: list[int]


@dataclass(frozen=True)
class Done(Message):
    """A generation finished; figures for the status bar."""

    kind: ClassVar[str] = "done"
    request_id: str
    prompt_tokens: int
    image_tokens: int
    generated_tokens: int
    time_to_first_token_s: float
    tokens_per_s: float
    finish_reason: str
    # When finish_reason is "tool_calls" (a server engine's, or the local worker's read
    # from the text when tools were offered): each {"id", "name", "arguments": {...}}
    # (or "problem": a sentence, when the arguments are not JSON).
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    tool_tokens: int = 0  # of prompt_tokens: what the tool definitions cost (local worker)
    # How many of the prompt tokens came from a kept KV cache (were not prefilled again).
    cached_prompt_tokens: int = 0
    # Sentences about tool calls the model wrote that could not be read (cut off, not
    # `name(arg=value)`): they were not run, and the user is told.
    tool_problems: list[str] = field(default_factory=list)

    def cached_summary(self) -> str:
        """How much of the prompt came from the cache, as the status bar and `ask` say it."""
        return f"{self.cached_prompt_tokens:,} of {self.prompt_tokens:,} prompt tokens cached"


@dataclass(frozen=True)
class CacheFreed(Message):
    """The kept KV caches are gone; `freed_bytes` is what they held."""

    kind: ClassVar[str] = "cache_freed"
    request_id: str
    freed_bytes: int


@dataclass(frozen=True)
class Cancelled(Message):
    """A generation or load stopped at the app's request; the tokens sent so far stand."""

    kind: ClassVar[str] = "cancelled"
    request_id: str
    generated_tokens: int
    # The prompt's length when the generation had started (the local API's `usage` for an
    # answer ended by a stop string); 0 when it was cancelled before. Of those, how many
    # came from the prompt cache (as in `Done`).
    prompt_tokens: int = 0
    cached_prompt_tokens: int = 0


@dataclass(frozen=True)
class Error(Message):
    """A request failed. `error_kind` is one of ERROR_KINDS."""

    kind: ClassVar[str] = "error"
    request_id: str
    error_kind: str
    message: str
    traceback: str = ""


@dataclass(frozen=True)
class WorkerDied(Message):
    """Made by the client: the worker process exited without being asked to."""

    kind: ClassVar[str] = "worker_died"
    exit_code: int | None
    stderr_tail: str = ""


ERROR_KINDS = (
    "bad_checkpoint",  # the folder cannot be loaded as it is
    "bad_input",  # the request cannot be served as it is (images, length, parameters)
    "not_loaded",  # generate before a successful load
    "generation_failed",  # an exception inside model.generate
    "load_failed",  # an exception while loading
    "protocol",  # a line the worker could not understand
    # From server engines (app.engines): the OpenAI-compatible server, not the worker.
    "connection_refused",  # nothing answered at the server's address
    "timeout",  # the server stayed silent longer than the timeout
    "unauthorized",  # the server refused the API key (401/403), or the key is not set
    "unknown_model",  # the server does not serve the model named in the settings
    "context_too_long",  # the conversation does not fit the server's context window
    "server_died",  # the connection broke mid-request
    "malformed_stream",  # the reply is not a valid OpenAI chat stream
    "server_error",  # any other failure the server reported (5xx, 404 path)
)

REQUESTS: tuple[type[Message], ...] = (Load, Generate, Cancel, FreeCache, Shutdown)
EVENTS: tuple[type[Message], ...] = (
    Hello,
    LoadProgress,
    Ready,
    Token,
    Done,
    Cancelled,
    Error,
    WorkerDied,
    CacheFreed,
)
_BY_KIND: dict[str, type[Message]] = {cls.kind: cls for cls in REQUESTS + EVENTS}


def encode(message: Message) -> bytes:
    """One line of JSON, newline-terminated.

    Raises `ProtocolError` (not RecursionError) for a tool schema or call nested deeper
    than `MAX_JSON_DEPTH`: it came from outside (an MCP server, an API client).
    """
    where = _too_deep(message)
    if where:
        raise ProtocolError(f"{message.kind}: " + depth_sentence(where))
    body = {"v": PROTOCOL_VERSION, "kind": message.kind, **dataclasses.asdict(message)}
    if isinstance(message, Generate):
        body.update(body.pop("sampling"))  # the wire format keeps them flat
    return (json.dumps(body, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


def decode(line: bytes | str) -> Message:
    """Parse one line; raise `ProtocolError` for anything that is not a valid message."""
    try:
        body = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"not JSON: {exc}") from exc
    except RecursionError as exc:
        raise ProtocolError("not JSON: nested too deeply") from exc
    if not isinstance(body, dict):
        raise ProtocolError("a message must be a JSON object")
    version = body.pop("v", None)
    if version != PROTOCOL_VERSION:
        raise ProtocolError(f"protocol version {version!r}, expected {PROTOCOL_VERSION}")
    kind = body.pop("kind", None)
    cls = _BY_KIND.get(str(kind))
    if cls is None:
        raise ProtocolError(f"unknown message kind {kind!r}")
    names = {f.name for f in dataclasses.fields(cls)}
    if cls is Generate:
        names = (names - {"sampling"}) | set(SAMPLING_FIELDS)
    unknown = set(body) - names
    if unknown:
        raise ProtocolError(f"{kind}: unknown fields {sorted(unknown)}")
    if cls is Generate:
        try:
            body["messages"] = [ChatTurn(**turn) for turn in body.get("messages", [])]
        except TypeError as exc:
            raise ProtocolError(f"generate: malformed messages: {exc}") from exc
        given = {name: body.pop(name) for name in SAMPLING_FIELDS if name in body}
        try:
            body["sampling"] = Sampling(**given)
        except TypeError as exc:
            raise ProtocolError(f"generate: malformed sampling: {exc}") from exc
    try:
        return cls(**body)
    except TypeError as exc:
        raise ProtocolError(f"{kind}: {exc}") from exc


def _too_deep(message: Message) -> str:
    """The field of `message` nested too deeply to encode, or "".

    The limit applies to a tool's `parameters` ({"type", "function": {"parameters"}}: two
    levels down) and a call's `arguments` ({"name", "arguments"}: one level down).
    """
    if not isinstance(message, Generate):
        return ""
    for i, tool in enumerate(message.tools):
        if deeper_than(tool, MAX_JSON_DEPTH + 2):
            return f"tools[{i}]"
    for i, turn in enumerate(message.messages):
        for j, call in enumerate(turn.tool_calls):
            if deeper_than(call, MAX_JSON_DEPTH + 1):
                return f"messages[{i}].tool_calls[{j}]"
    return ""
