"""`mcp.json`: the standard ``mcpServers`` object that Claude Desktop and LM Studio read.

A user can paste theirs as it is::

    {"mcpServers": {"files": {"command": "npx", "args": ["-y", "server-files", "/tmp"]},
                    "search": {"url": "http://127.0.0.1:9000/mcp", "headers": {"X-Key": "…"}}}}

This file is the user's, not the app's: the app writes it only when the user edits it in
the Tools dialog (checked by `parse_config` first, written atomically). What the app adds
(which servers are enabled, the approval policies) lives beside it in `tool_settings`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.paths import config_dir

CONFIG_NAME = "mcp.json"


class ConfigError(ValueError):
    """`mcp.json` cannot be used; the message says where and what is wrong."""


@dataclass(frozen=True)
class ServerConfig:
    """One MCP server: a command to run (stdio) or a URL (streamable HTTP)."""

    name: str
    command: str | None = None
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    cwd: str | None = None
    url: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def transport(self) -> str:
        return "stdio" if self.command is not None else "http"

    def describe(self) -> str:
        """What the user must see before enabling it: the command line or the URL."""
        if self.command is not None:
            return " ".join([self.command, *self.args])
        return str(self.url)

    def fingerprint(self) -> str:
        """Changes whenever what would run changes, so an edited server must be re-enabled."""
        facts = [self.command, list(self.args), self.env, self.cwd, self.url, self.headers]
        return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()[:16]


def default_config_path() -> Path:
    return config_dir() / CONFIG_NAME


def _line_of(text: str, needle: str) -> int:
    """The first line (1-based) that holds ``"needle"``, or 1."""
    quoted = json.dumps(needle)
    for number, line in enumerate(text.splitlines(), start=1):
        if quoted in line:
            return number
    return 1


def _strings(value: Any, what: str, where: str) -> None:
    if not isinstance(value, str):
        raise ConfigError(f"{where}: {what} must be a string, not {type(value).__name__}.")


def _string_map(value: Any, what: str, where: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: {what} must be an object of strings.")
    for key, item in value.items():
        _strings(item, f"{what}[{key!r}]", where)
    return dict(value)


def _server(name: str, raw: Any, where: str) -> ServerConfig:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: server {name!r} must be an object.")
    known = {"command", "args", "env", "cwd", "url", "headers", "type", "transport"}
    if "command" in raw and "url" in raw:
        raise ConfigError(f"{where}: server {name!r} has both a command and a url; keep one.")
    if "command" in raw:
        _strings(raw["command"], "command", where)
        args = raw.get("args", [])
        if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
            raise ConfigError(f"{where}: args of {name!r} must be a list of strings.")
        cwd = raw.get("cwd")
        if cwd is not None:
            _strings(cwd, "cwd", where)
        return ServerConfig(
            name,
            command=raw["command"],
            args=tuple(args),
            env=_string_map(raw.get("env", {}), "env", where),
            cwd=cwd,
        )
    if "url" in raw:
        _strings(raw["url"], "url", where)
        if not raw["url"].startswith(("http://", "https://")):
            raise ConfigError(f"{where}: url of {name!r} must start with http:// or https://.")
        return ServerConfig(
            name, url=raw["url"], headers=_string_map(raw.get("headers", {}), "headers", where)
        )
    extra = sorted(set(raw) - known)
    hint = f" (unknown keys: {', '.join(extra)})" if extra else ""
    raise ConfigError(f'{where}: server {name!r} needs a "command" or a "url"{hint}.')


def parse_config(text: str, source: str = CONFIG_NAME) -> list[ServerConfig]:
    """The servers of an ``mcpServers`` document; `ConfigError` names the line and the fault."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{source}, line {exc.lineno}, column {exc.colno}: not valid JSON ({exc.msg})."
        ) from exc
    if not isinstance(document, dict) or not isinstance(document.get("mcpServers"), dict):
        raise ConfigError(
            f'{source}, line 1: expected an object with "mcpServers": {{name: server, …}}.'
        )
    servers = []
    for name, raw in document["mcpServers"].items():
        if not name.strip():
            raise ConfigError(f"{source}, line {_line_of(text, name)}: a server name is empty.")
        servers.append(_server(name, raw, f"{source}, line {_line_of(text, name)}"))
    return servers


def load_config(path: Path | None = None) -> list[ServerConfig]:
    """The servers in `path` (default: mcp.json in the config folder); none if it is missing."""
    path = path or default_config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Could not read {path}: {exc}.") from exc
    return parse_config(text, str(path))
