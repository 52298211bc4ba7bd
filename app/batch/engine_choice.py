"""Which engine a batch job runs on: the one it was started with, saved with the job.

A job's settings name its engine: ``"local"`` with the checkpoint folder, or ``"server"``
with the server's settings (``server_settings``: `ServerSettings.to_dict()`, i.e. the
address, the model, the *name* of the variable holding the key, a preset's headers, query
and key header; never the key itself). Resume, in the window and on the command line,
runs a job on that engine; `unavailable` says in a sentence why it cannot be used now, and
the person may choose the current engine instead (`engine_settings` of it, saved over the
old with `JobStore.update_settings`).

Jobs saved before the engine was kept whole (``server`` and ``api_key_env`` only, or no
engine at all) are read as well as they can be: a job that names no engine runs on the
current one.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from app.engines.openai_client import ServerSettings

LOCAL, SERVER = "local", "server"  # the job settings' "engine", as stored: never change them


def engine_settings(server: ServerSettings | None, model: str | Path) -> dict[str, Any]:
    """The entries of a job's settings that name its engine: `server`, else the local `model`."""
    if server is None:
        return {"engine": LOCAL, "model": str(model), "server": None, "server_settings": None}
    return {
        "engine": SERVER,
        "model": server.model,
        "server": server.base_url,
        "api_key_env": server.api_key_env,
        "preset": server.preset,
        "server_settings": server.to_dict(),  # holds no key
    }


def names_engine(settings: dict[str, Any]) -> bool:
    """Whether the job says which engine it was started with (older test jobs do not)."""
    return settings.get("engine") in (LOCAL, SERVER)


def saved_server(settings: dict[str, Any]) -> ServerSettings | None:
    """The server a job was started on (None for the local model), from its settings.

    Raises `ValueError` with a sentence for saved settings that cannot be read.
    """
    saved = settings.get("server_settings")
    if isinstance(saved, dict):
        return ServerSettings.from_dict(saved)
    if settings.get("engine") != SERVER:
        return None
    key_env = settings.get("api_key_env") or None
    preset = settings.get("preset")
    if not preset:  # an older job: the address, the model and the key's variable
        return ServerSettings(str(settings.get("server") or ""), str(settings.get("model") or ""),
                              key_env)  # fmt: skip
    from app.engines.presets import preset_named

    fill: dict[str, Any] = {}
    for item in settings.get("fill") or []:
        name, _, value = str(item).partition("=")
        fill[name] = value
    try:
        server = preset_named(str(preset)).settings(
            base_url=settings.get("server") or None, model=settings.get("model") or None, **fill
        )
    except KeyError as exc:
        raise ValueError(exc.args[0]) from None
    return replace(server, api_key_env=key_env) if key_env else server


def describe(settings: dict[str, Any]) -> str:
    """The job's engine in words: 'the local model demo-bf16', 'the server m at http://…'."""
    if settings.get("engine") == SERVER:
        model = settings.get("model") or "its preset's model"
        where = settings.get("server") or settings.get("preset") or "an unnamed address"
        return f"the server {model} at {where}"
    return f"the local model {Path(str(settings.get('model') or '?')).name}"


def same_engine(settings: dict[str, Any], server: ServerSettings | None, model: Path) -> bool:
    """Whether the engine `server` (or the local `model`) is the one the job names."""
    if settings.get("engine") == SERVER:
        return server is not None and (server.base_url, server.model) == (
            settings.get("server"),
            settings.get("model"),
        )
    return server is None and Path(str(settings.get("model") or "")) == Path(model)


def unavailable(settings: dict[str, Any]) -> str | None:
    """Why the job's own engine cannot be used now, or None if nothing is known against it."""
    if settings.get("engine") == SERVER:
        try:
            server = saved_server(settings)
        except ValueError as exc:
            return f"its saved server settings cannot be read ({exc})"
        variable = server.api_key_env if server is not None else settings.get("api_key_env")
        if variable and not os.environ.get(str(variable)):
            return f"the environment variable {variable} that holds its API key is not set"
        return None
    folder = Path(str(settings.get("model") or ""))
    if not settings.get("demo_if_missing") and not folder.is_dir():
        return f"its model folder {folder} is not there"
    return None


def resume_on(
    job_id: int, settings: dict[str, Any], server_now: ServerSettings | None, model_now: Path
) -> tuple[ServerSettings | None, str | None]:
    """The engine a job resumes on in the window: (the server, or None for the local worker).

    The window's engine when it is the job's own (or the job names none); the job's server,
    whichever engine the window uses now; else a sentence saying why the job's engine
    cannot be used, which offers the window's engine instead.
    """
    if not names_engine(settings) or same_engine(settings, server_now, model_now):
        return server_now, None
    why = unavailable(settings)
    if settings.get("engine") == SERVER and why is None:
        try:
            return saved_server(settings), None
        except ValueError as exc:
            why = f"its saved server settings cannot be read ({exc})"
    now = describe(engine_settings(server_now, model_now))
    if why is None:
        why = f"the window's engine is now {now} (Model and engine, Ctrl+M, chooses another)"
    return None, (
        f"Job {job_id} was started on {describe(settings)}, which cannot be used now: {why}. "
        f"Resume it there once it can be used, or on the window's engine, {now}."
    )
