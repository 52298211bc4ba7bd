"""What Maverick Desk adds to `mcp.json`: enabled servers and tools, approval policies, limits.

Stored beside mcp.json as ``mcp-settings.json`` with a format version, written atomically.
A server is enabled only for the exact command (or URL) the user enabled: when mcp.json
changes what a server runs, it is disabled again until the user looks at it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.storage.atomic import atomic_write_text
from app.tools.config import ServerConfig, default_config_path

SETTINGS_NAME = "mcp-settings.json"
FORMAT_VERSION = 1
# Stored on disk: never change or reuse these strings.
POLICIES = ("ask", "always", "never")
DEFAULT_CALL_TIMEOUT_S = 60.0
DEFAULT_RESULT_LIMIT = 20_000
DEFAULT_LOOP_LIMIT = 8


class SettingsError(ValueError):
    """The settings file cannot be used as it is; the message says why."""


@dataclass
class ServerSettings:
    """One server's entry: the command the user enabled, its policies, tools turned off."""

    enabled_fingerprint: str | None = None  # the ServerConfig.fingerprint the user enabled
    policy: str = "ask"
    tool_policies: dict[str, str] = field(default_factory=dict)
    disabled_tools: set[str] = field(default_factory=set)


@dataclass
class ToolSettings:
    """Everything the app remembers about tools, with the limits."""

    servers: dict[str, ServerSettings] = field(default_factory=dict)
    call_timeout_s: float = DEFAULT_CALL_TIMEOUT_S
    result_limit: int = DEFAULT_RESULT_LIMIT
    loop_limit: int = DEFAULT_LOOP_LIMIT

    def _server(self, name: str) -> ServerSettings:
        return self.servers.setdefault(name, ServerSettings())

    def is_enabled(self, server: ServerConfig) -> bool:
        entry = self.servers.get(server.name)
        return entry is not None and entry.enabled_fingerprint == server.fingerprint()

    def set_enabled(self, server: ServerConfig, enabled: bool) -> None:
        self._server(server.name).enabled_fingerprint = server.fingerprint() if enabled else None

    def is_tool_enabled(self, server: str, tool: str) -> bool:
        entry = self.servers.get(server)
        return entry is None or tool not in entry.disabled_tools

    def set_tool_enabled(self, server: str, tool: str, enabled: bool) -> None:
        tools = self._server(server).disabled_tools
        if enabled:
            tools.discard(tool)
        else:
            tools.add(tool)

    def policy_for(self, server: str, tool: str) -> str:
        """The tool's own policy if it has one, else its server's (default ask)."""
        entry = self.servers.get(server)
        if entry is None:
            return "ask"
        return entry.tool_policies.get(tool, entry.policy)

    def set_policy(self, server: str, policy: str, tool: str | None = None) -> None:
        if policy not in POLICIES:
            raise SettingsError(f"Unknown policy {policy!r}: use one of {', '.join(POLICIES)}.")
        entry = self._server(server)
        if tool is None:
            entry.policy = policy
        else:
            entry.tool_policies[tool] = policy


def default_settings_path(config_path: Path | None = None) -> Path:
    return (config_path or default_config_path()).with_name(SETTINGS_NAME)


def _server_from(raw: Any, where: str) -> ServerSettings:
    if not isinstance(raw, dict):
        raise SettingsError(f"{where} must be an object.")
    if not isinstance(raw.get("tool_policies", {}), dict):
        raise SettingsError(f"{where}: tool_policies must be an object.")
    disabled = raw.get("disabled_tools", [])
    if not isinstance(disabled, list) or not all(isinstance(t, str) for t in disabled):
        raise SettingsError(f"{where}: disabled_tools must be a list of tool names.")
    fingerprint = raw.get("enabled_fingerprint")
    if fingerprint is not None and not isinstance(fingerprint, str):
        raise SettingsError(f"{where}: enabled_fingerprint must be a string.")
    policies = {"policy": raw.get("policy", "ask"), **raw.get("tool_policies", {})}
    for name, policy in policies.items():
        if policy not in POLICIES:
            raise SettingsError(f"{where}: policy {policy!r} of {name!r} is not one of {POLICIES}.")
    return ServerSettings(
        enabled_fingerprint=raw.get("enabled_fingerprint"),
        policy=raw.get("policy", "ask"),
        tool_policies=dict(raw.get("tool_policies", {})),
        disabled_tools=set(raw.get("disabled_tools", [])),
    )


def load_settings(path: Path) -> ToolSettings:
    """The settings in `path`, or defaults (nothing enabled) if it does not exist."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return ToolSettings()
    except json.JSONDecodeError as exc:
        raise SettingsError(f"{path}, line {exc.lineno}: not valid JSON ({exc.msg}).") from exc
    except OSError as exc:
        raise SettingsError(f"Could not read {path}: {exc}.") from exc
    if not isinstance(document, dict):
        raise SettingsError(f"{path} is not a Maverick Desk tool settings file.")
    version = document.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise SettingsError(
            f"{path} has format version {version!r}, newer than this app reads "
            f"({FORMAT_VERSION}); it was left as it is. Update Maverick Desk."
        )
    servers = document.get("servers", {})
    if not isinstance(servers, dict):
        raise SettingsError(f"{path}: servers must be an object.")
    try:
        return ToolSettings(
            servers={n: _server_from(s, f"{path}: server {n!r}") for n, s in servers.items()},
            call_timeout_s=float(document.get("call_timeout_s", DEFAULT_CALL_TIMEOUT_S)),
            result_limit=int(document.get("result_limit", DEFAULT_RESULT_LIMIT)),
            loop_limit=int(document.get("loop_limit", DEFAULT_LOOP_LIMIT)),
        )
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"{path}: a limit is not a number ({exc}).") from exc


def save_settings(settings: ToolSettings, path: Path) -> None:
    document = {
        "format_version": FORMAT_VERSION,
        "call_timeout_s": settings.call_timeout_s,
        "result_limit": settings.result_limit,
        "loop_limit": settings.loop_limit,
        "servers": {
            name: {
                "enabled_fingerprint": entry.enabled_fingerprint,
                "policy": entry.policy,
                "tool_policies": entry.tool_policies,
                "disabled_tools": sorted(entry.disabled_tools),
            }
            for name, entry in sorted(settings.servers.items())
        },
    }
    atomic_write_text(path, json.dumps(document, indent=2) + "\n", "save the tool settings")
