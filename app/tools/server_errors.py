"""Sentences for a tool server that would not start or stopped answering."""

from __future__ import annotations

from app.tools.config import ServerConfig


def _leaves(exc: BaseException) -> list[BaseException]:
    """The real failures inside anyio's exception groups."""
    if isinstance(exc, BaseExceptionGroup):
        found: list[BaseException] = []
        for inner in exc.exceptions:
            found.extend(_leaves(inner))
        return found
    return [exc]


def describe_start_failure(config: ServerConfig, exc: BaseException) -> str:
    """What went wrong starting or talking to `config`, as one sentence for the user."""
    leaves = _leaves(exc) or [exc]
    first = leaves[0]
    name = config.name
    if isinstance(first, FileNotFoundError) and config.command is not None:
        return (
            f"The tool server {name!r} could not start: the command {config.command!r} was "
            'not found. Install it or correct "command" in mcp.json.'
        )
    if isinstance(first, PermissionError):
        return f"The tool server {name!r} could not start: permission denied ({first})."
    if isinstance(first, TimeoutError):
        return f"The tool server {name!r} did not finish starting within 30 s."
    text = str(first) or type(first).__name__
    if config.url is not None and "connect" in type(first).__name__.lower():
        return f"Could not connect to the tool server {name!r} at {config.url}: {text}."
    if config.command is not None:
        return (
            f"The tool server {name!r} stopped or failed while starting ({text}); "
            "its log says more."
        )
    return f"The tool server {name!r} at {config.url} failed: {text}."
