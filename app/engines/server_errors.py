"""Turning what goes wrong with a server into one of a few error kinds and a sentence.

Every failure of an OpenAI-compatible server ends up as a `ServerError` with a
`kind` from `SERVER_ERROR_KINDS` (also listed in `protocol.ERROR_KINDS`) and a
message that says what happened and what to do. The API key never appears in a
message: `redact` removes it from anything the server or a library wrote.

Hosted providers add failures a local server never has: no credit left (402), a rate
limit (429, with the wait from Retry-After or the provider's message), a request too
large (413) and a content filter (a provider error code, or `finish_reason`
"content_filter" in the stream). Each has its own sentence; their `kind` stays one
the window already advises on, and `reason` names the case precisely.
"""

from __future__ import annotations

import json
import re
import time
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import openai

SERVER_ERROR_KINDS = (
    "connection_refused",
    "timeout",
    "unauthorized",
    "unknown_model",
    "context_too_long",
    "server_died",
    "malformed_stream",
    "server_error",
)

_CONTEXT_HINTS = (
    "context length",
    "context_length",
    "maximum context",
    "max_model_len",
    "max-model-len",
    "too long",
    "too many tokens",
)
_MODEL_HINTS = ("does not exist", "not found", "unknown model", "no such model")
# Error codes and words providers use for a request their content filter refused:
# Azure "content_filter", OpenRouter's moderation 403 "flagged", others "moderation".
_FILTER_CODES = ("content_filter", "content_policy_violation", "moderation", "flagged")
# "Please try again in 7.66s" (Groq), "try again in 250ms", "retry after 20 seconds".
_RETRY_TEXT = re.compile(
    r"(?:try again|retry) (?:in|after) (\d+(?:\.\d+)?) ?(ms|s|sec|seconds|m|min|minutes)\b"
)


class ServerError(Exception):
    """A server request failed; `kind` is one of SERVER_ERROR_KINDS (or 'bad_input')."""

    def __init__(self, kind: str, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        # The precise case where `kind` is broader: "no_credit", "rate_limited",
        # "too_large" or "content_filtered".
        self.reason = reason


def redact(text: str, secret: str | None) -> str:
    """`text` with every occurrence of `secret` replaced (nothing to do without one)."""
    if not secret:
        return text
    return text.replace(secret, "[API key hidden]")


def _server_detail(exc: openai.APIError) -> str:
    """The server's own words from an error body, or the library's message."""
    body = exc.body
    if isinstance(body, dict):
        for key in ("message", "detail", "error"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value
            if isinstance(value, dict) and isinstance(value.get("message"), str):
                return str(value["message"])
    if isinstance(body, str) and body:
        return body
    return exc.message


def classify(
    exc: BaseException,
    *,
    base_url: str,
    model: str,
    timeout_s: float,
    started: bool,
    secret: str | None = None,
) -> ServerError:
    """The `ServerError` for an exception raised while talking to the server.

    `started` says whether the answer had begun streaming: a lost connection is then
    the server dying mid-answer, not a server that was never there.
    """
    error = _classify(exc, base_url=base_url, model=model, timeout_s=timeout_s, started=started)
    return ServerError(error.kind, redact(error.message, secret), error.reason)


def _classify(
    exc: BaseException, *, base_url: str, model: str, timeout_s: float, started: bool
) -> ServerError:
    import openai  # loaded lazily (0.4 s); a server error means it is loaded already
    import pydantic

    if isinstance(exc, openai.APITimeoutError):
        return ServerError(
            "timeout",
            f"The server at {base_url} sent nothing for {timeout_s:g} s. It may be overloaded or "
            "still working on a long prompt; try again, or raise the timeout in the settings.",
        )
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__ or exc.__context__
        # Only a failed connect means nobody is there; a connection that opened and then
        # broke means the server went away while working on the request.
        if started or type(cause).__name__ != "ConnectError":
            return _died(base_url)
        reason = f" ({cause})" if cause else ""
        return ServerError(
            "connection_refused",
            f"Nothing answered at {base_url}{reason}. Check the address and port, and that the "
            "server is running.",
        )
    if isinstance(exc, openai.APIError):
        hosted = _hosted(exc, base_url)
        if hosted is not None:
            return hosted
    if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
        return ServerError(
            "unauthorized",
            f"The server at {base_url} refused the API key (HTTP {exc.status_code}). Check the "
            "environment variable that holds the key, and that the server expects this key.",
        )
    if isinstance(exc, openai.APIStatusError):
        return _from_status(exc.status_code, _server_detail(exc), base_url, model)
    malformed = openai.APIResponseValidationError | json.JSONDecodeError | pydantic.ValidationError
    if isinstance(exc, malformed):
        return _malformed(base_url, str(exc))
    if isinstance(exc, openai.APIError):
        # An error event inside the stream: the server gave up on this answer.
        return _from_text(_server_detail(exc), base_url, model, fallback="server_error")
    return ServerError(
        "server_error", f"The request to {base_url} failed: {type(exc).__name__}: {exc}"
    )


def _hosted(exc: openai.APIError, base_url: str) -> ServerError | None:
    """The sentence for a hosted provider's own refusals, or None for other errors.

    An HTTP status says which; an error event inside a stream (OpenRouter sends one
    when the provider behind it fails mid-answer) carries the status as its `code`.
    """
    detail = _server_detail(exc)
    status = getattr(exc, "status_code", None)
    if status is None and isinstance(exc.body, dict):
        code = exc.body.get("code")
        status = code if isinstance(code, int) else None
    if _is_filtered(exc, detail):
        return content_filtered(base_url, detail)
    if status == 402:
        return ServerError(
            "server_error",
            f"The provider at {base_url} refused the request for lack of credit (HTTP 402: "
            f"{detail}). Add credit or a payment method in your account there, then press Retry.",
            "no_credit",
        )
    if status == 429:
        response = getattr(exc, "response", None)
        wait = retry_after_s(response.headers if response is not None else {}, detail)
        when = f"in {_seconds(wait)}" if wait is not None else "in a minute or so"
        return ServerError(
            "timeout",
            f"The provider at {base_url} is rate-limiting this key (HTTP 429: {detail}). Try "
            f"again {when}, or raise the key's limit in your account there.",
            "rate_limited",
        )
    if status == 413:
        return ServerError(
            "bad_input",
            f"The request is too large for {base_url} (HTTP 413: {detail}). Send fewer or "
            "smaller images, or start a new conversation.",
            "too_large",
        )
    return None


def _is_filtered(exc: openai.APIError, detail: str) -> bool:
    codes = [exc.code or "", str(getattr(exc, "type", "") or "")]
    body = exc.body
    if isinstance(body, dict):
        codes.append(str(body.get("code", "")))
        metadata = body.get("metadata")
        if isinstance(metadata, dict) and metadata.get("reasons"):
            codes.append("flagged")  # OpenRouter's moderation: {"metadata": {"reasons": [...]}}
    words = " ".join(codes).lower() + " " + detail.lower()
    return any(code in words for code in _FILTER_CODES)


def content_filtered(base_url: str, detail: str = "") -> ServerError:
    """The provider's content filter refused the prompt or stopped the answer."""
    said = f" ({detail})" if detail else ""
    return ServerError(
        "bad_input",
        f"The content filter at {base_url} refused this request or stopped the answer{said}. "
        "The text so far is kept; rephrase the message or leave out the image, then send again.",
        "content_filtered",
    )


def retry_after_s(headers: Any, detail: str = "") -> float | None:
    """Seconds to wait from Retry-After (seconds or an HTTP date), retry-after-ms, or the text."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(float(millis) / 1000, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value:
        try:
            return max(float(value), 0.0)
        except ValueError:
            try:
                return max(parsedate_to_datetime(value).timestamp() - time.time(), 0.0)
            except (TypeError, ValueError):
                pass
    match = _RETRY_TEXT.search(detail.lower())
    if match:
        amount, unit = float(match.group(1)), match.group(2)
        return amount / 1000 if unit == "ms" else amount * 60 if unit.startswith("m") else amount
    return None


def _seconds(wait: float) -> str:
    if wait < 1:
        return "a second"
    if wait < 90:
        return f"{wait:.0f} s"
    return f"{wait / 60:.0f} min"


def _from_status(status: int, detail: str, base_url: str, model: str) -> ServerError:
    if status == 404:
        lowered = detail.lower()
        if "model" in lowered:
            return _unknown_model(model, base_url, detail)
        return ServerError(
            "server_error",
            f"{base_url} has no chat endpoint (HTTP 404: {detail}). The address usually ends "
            "in /v1, e.g. http://host:8000/v1.",
        )
    if status in (400, 413, 422):
        return _from_text(detail, base_url, model, fallback="bad_input", status=status)
    return ServerError(
        "server_error",
        f"The server at {base_url} failed (HTTP {status}: {detail}). Its log says more; "
        "try again once it is healthy.",
    )


def _from_text(
    detail: str, base_url: str, model: str, *, fallback: str, status: int | None = None
) -> ServerError:
    lowered = detail.lower()
    if any(hint in lowered for hint in _CONTEXT_HINTS):
        return ServerError(
            "context_too_long",
            f"The conversation is too long for the server's context window ({detail}). Start a "
            "new conversation, remove images, or lower the answer length.",
        )
    # transformers serve: "Server is pinned to 'x'; requested 'y'."
    if "pinned to" in lowered or ("model" in lowered and any(h in lowered for h in _MODEL_HINTS)):
        return _unknown_model(model, base_url, detail)
    code = f"HTTP {status}: " if status else ""
    return ServerError(fallback, f"The server at {base_url} refused the request ({code}{detail}).")


def _unknown_model(model: str, base_url: str, detail: str) -> ServerError:
    return ServerError(
        "unknown_model",
        f"The server at {base_url} does not serve a model named “{model}” ({detail}). Use "
        "Test connection to list the names it serves.",
    )


def _died(base_url: str) -> ServerError:
    return ServerError(
        "server_died",
        f"The connection to {base_url} broke in the middle of the answer; the server may have "
        "stopped or crashed. The text so far is kept; check the server and try again.",
    )


def _malformed(base_url: str, detail: str) -> ServerError:
    return ServerError(
        "malformed_stream",
        f"The server at {base_url} sent a reply that is not a valid OpenAI chat stream "
        f"({detail[:200]}). The text so far is kept; check that the address points at an "
        "OpenAI-compatible server.",
    )


def malformed_reply(base_url: str, detail: str) -> ServerError:
    """A reply the client library could not read as OpenAI's (e.g. an HTML page)."""
    return _malformed(base_url, detail)


def stream_ended_early(base_url: str) -> ServerError:
    """The stream closed without a finish reason: the answer was cut off."""
    return _died(base_url)
