"""What to do about each kind of error, as the window says it.

Every `protocol.ERROR_KINDS` entry, from the local worker and from server engines,
has one sentence here (a test checks); the error's own message says what happened.
"""

from __future__ import annotations

from app.workers import protocol as p

ENGINE_PLACE = "Model and engine (Ctrl+M)"

ADVICE: dict[str, str] = {
    "bad_checkpoint": (
        f"Choose another model in {ENGINE_PLACE}, or fix the checkpoint's files and press Retry."
    ),
    "bad_input": "Change the message or its images and send again.",
    "not_loaded": "Wait for the model to finish loading, then press Retry.",
    "generation_failed": "Press Retry to try again; the details are in the log.",
    "load_failed": (
        f"The details are in the log; press Retry, or choose another model in {ENGINE_PLACE}."
    ),
    "protocol": "This is a bug; the details are in the log.",
    "connection_refused": (
        f"Start the server, or correct its address in {ENGINE_PLACE}, then press Retry."
    ),
    "timeout": f"Press Retry; if the server is busy, allow it more time in {ENGINE_PLACE}.",
    "unauthorized": (
        f"Set the environment variable named in {ENGINE_PLACE} to the server's key, restart "
        "the app, then press Retry."
    ),
    "unknown_model": (
        f"Press Test connection in {ENGINE_PLACE} and use one of the model names it lists."
    ),
    "context_too_long": "Start a new chat (Ctrl+N) or remove images, then send again.",
    "server_died": (
        f"Check the server (its log is under Managed server in {ENGINE_PLACE}), then press Retry."
    ),
    "malformed_stream": (
        f"Check that the address in {ENGINE_PLACE} points at an OpenAI-compatible server."
    ),
    "server_error": "Check the server's log, then press Retry.",
}
FALLBACK = "Press Retry to try again; the details are in the log."


def advice_for(kind: str) -> str:
    return ADVICE.get(kind, FALLBACK)


def error_sentence(error: p.Error) -> str:
    """The error's message followed by what to do about it."""
    return f"{error.message} {advice_for(error.error_kind)}".strip()
