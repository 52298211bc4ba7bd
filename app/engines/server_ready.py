"""Connecting to a server engine: its answer to ``GET /v1/models`` as the worker's `Ready`.

The window treats "the server answers and serves the model" the way it treats "the
worker has loaded the model": one `Ready` event, or one `Error` with a kind from
`protocol.ERROR_KINDS` and a sentence saying what to do.
"""

from __future__ import annotations

import time

from app.engines.openai_client import ServerEngine
from app.engines.server_errors import ServerError
from app.workers import protocol as p

SERVER_QUANTISATION = "server"  # what the status bar shows in place of a precision


async def connect(engine: ServerEngine, request_id: str) -> p.Message:
    """`Ready` if the server answers and serves the model (or lists none), else `Error`."""
    started = time.perf_counter()
    settings = engine.settings
    try:
        models = await engine.list_models()
    except ServerError as exc:
        return p.Error(request_id, exc.kind, exc.message)
    # transformers serve lists no model for a checkpoint served from a folder: only a
    # list that names other models proves the name wrong.
    if models and settings.model not in models:
        served = ", ".join(models[:5]) + ("…" if len(models) > 5 else "")
        return p.Error(
            request_id,
            "unknown_model",
            f"The server at {settings.base_url} does not serve a model named “{settings.model}”; "
            f"it serves {served}. Use one of those names as the model.",
        )
    return p.Ready(
        request_id=request_id,
        name=settings.model,
        path=settings.base_url,
        parameters=0,
        active_parameters=0,
        quantisation=SERVER_QUANTISATION,
        devices=[settings.base_url],
        context_length=settings.context_tokens or 0,  # what the provider documents
        is_demo=False,
        load_seconds=time.perf_counter() - started,
    )
