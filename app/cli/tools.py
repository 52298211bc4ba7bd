"""``maverick-desk tools``: the MCP servers in mcp.json, their tools, and one call.

A server in mcp.json runs only once it is enabled (`tools enable NAME`, which shows the
command it will run); `list` and `call` start only enabled servers. Ctrl+C, SIGTERM or
SIGHUP while they run ends the servers' process groups and prints one line.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.tools.config import ConfigError, ServerConfig, default_config_path, load_config
from app.tools.stop_signals import StopSignal, stopping_on_signals
from app.tools.tool_settings import (
    POLICIES,
    SettingsError,
    ToolSettings,
    default_settings_path,
    load_settings,
    save_settings,
)

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130
START_TIMEOUT_S = 30.0


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "tools",
        help="list MCP tool servers and their tools, enable them, or run one tool call",
        description=(
            "Tool servers are read from mcp.json in the config folder (the mcpServers "
            "object Claude Desktop and LM Studio use). A server runs only once enabled."
        ),
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    def with_config(sub: argparse.ArgumentParser) -> argparse.ArgumentParser:
        sub.add_argument(
            "--config", metavar="FILE", help=f"mcp.json to read (default {default_config_path()})"
        )
        return sub

    with_config(actions.add_parser("list", help="servers, their tools, or why one failed"))
    for name, text in (("enable", "let a server run"), ("disable", "stop a server from running")):
        sub = with_config(actions.add_parser(name, help=text))
        sub.add_argument("server", metavar="SERVER")
    call = with_config(actions.add_parser("call", help="run one tool call and print the result"))
    call.add_argument("server", metavar="SERVER")
    call.add_argument("tool", metavar="TOOL")
    call.add_argument("--args", default="{}", metavar="JSON", help="the arguments, a JSON object")
    call.add_argument("--timeout", type=float, metavar="S", help="seconds (default: settings, 60)")
    policy = with_config(actions.add_parser("policy", help="ask, always or never, for approval"))
    policy.add_argument("server", metavar="SERVER")
    policy.add_argument("policy", choices=POLICIES)
    policy.add_argument("--tool", metavar="TOOL", help="only this tool of the server")
    parser.set_defaults(handler=run)


def _fail(message: str, code: int = EXIT_FAILED) -> int:
    print(f"maverick-desk tools: {message}", file=sys.stderr)
    return code


def load_tool_setup(config: str | None) -> tuple[list[ServerConfig], ToolSettings, Path]:
    """The servers of mcp.json, the settings beside it and where they are saved."""
    path = Path(config).expanduser() if config else default_config_path()
    if config and not path.is_file():
        raise ConfigError(f"{path} does not exist.")
    servers = load_config(path)
    settings_path = default_settings_path(path)
    return servers, load_settings(settings_path), settings_path


def run(args: argparse.Namespace) -> int:
    try:
        servers, settings, settings_path = load_tool_setup(args.config)
    except (ConfigError, SettingsError) as exc:
        return _fail(str(exc), EXIT_BAD_INPUT)
    if args.action == "list":
        return _stoppable(lambda: _list(servers, settings))
    by_name = {server.name: server for server in servers}
    server = by_name.get(args.server)
    if server is None:
        known = ", ".join(by_name) or "none"
        return _fail(f"there is no server {args.server!r} in mcp.json (servers: {known}).", 2)
    if args.action in {"enable", "disable"}:
        settings.set_enabled(server, args.action == "enable")
        save_settings(settings, settings_path)
        state = "enabled" if args.action == "enable" else "disabled"
        print(f"{server.name}: {state} ({server.transport}: {server.describe()})")
        return 0
    if args.action == "policy":
        settings.set_policy(server.name, args.policy, tool=args.tool)
        save_settings(settings, settings_path)
        print(f"{server.name}{'/' + args.tool if args.tool else ''}: {args.policy}")
        return 0
    return _stoppable(lambda: _call(server, settings, args))


def _stoppable(action: Callable[[], int]) -> int:
    """Run `action`; a stop signal ends its servers and says so in one line."""
    try:
        with stopping_on_signals():
            return action()
    except StopSignal as stop:
        return _fail(
            f"stopped by {stop.name}; the tool servers it started were ended.", stop.exit_code
        )
    except KeyboardInterrupt:
        return _fail("stopped (Ctrl+C); the tool servers it started were ended.", EXIT_INTERRUPTED)


def _host(settings: ToolSettings) -> Any:
    from app.tools.host import ToolHost  # the MCP SDK loads only when a server runs

    return ToolHost(call_timeout_s=settings.call_timeout_s, result_limit=settings.result_limit)


def _list(servers: list[ServerConfig], settings: ToolSettings) -> int:
    if not servers:
        print(f"No tool servers: add them to {default_config_path()} (mcpServers).")
        return 0
    enabled = [server for server in servers if settings.is_enabled(server)]
    with _host(settings) as host:
        host.start(enabled)
        host.wait_started(START_TIMEOUT_S)
        for server in servers:
            print(f"{server.name} ({server.transport}): {server.describe()}")
            state = host.state(server.name)
            if state is None:
                print(f"  disabled: `maverick-desk tools enable {server.name}` lets it run")
            elif state.status != "ready":
                print(f"  failed: {state.error or 'it did not start in time.'}")
                for line in state.log_tail(5):
                    print(f"    | {line}")
            else:
                for tool in state.tools:
                    mark = "" if settings.is_tool_enabled(server.name, tool.name) else " (off)"
                    policy = settings.policy_for(server.name, tool.name)
                    print(f"  {tool.name}{mark} [{policy}]: {tool.description.strip()}")
                    print(f"    input: {json.dumps(tool.input_schema, ensure_ascii=False)}")
    return 0


def _call(server: ServerConfig, settings: ToolSettings, args: argparse.Namespace) -> int:
    try:
        arguments = json.loads(args.args)
    except json.JSONDecodeError as exc:
        return _fail(f"--args is not valid JSON ({exc.msg}, column {exc.colno}).", 2)
    if not isinstance(arguments, dict):
        return _fail('--args must be a JSON object, e.g. \'{"city": "Paris"}\'.', 2)
    if not settings.is_enabled(server):
        return _fail(
            f"the server {server.name!r} is not enabled. It would run: {server.describe()} "
            f"— if that is right, `maverick-desk tools enable {server.name}`.",
            EXIT_BAD_INPUT,
        )
    with _host(settings) as host:
        host.start([server])
        if not host.wait_started(START_TIMEOUT_S):
            state = host.state(server.name)
            why = state.error if state and state.error else "it did not start in time."
            return _fail(why)
        known = {tool.name for tool in host.tools()}
        if args.tool not in known:
            names = ", ".join(sorted(known)) or "none"
            return _fail(f"{server.name!r} has no tool {args.tool!r} (its tools: {names}).", 2)
        result = host.call(server.name, args.tool, arguments, args.timeout).result()
    if result.is_error:
        return _fail(" ".join(result.text.split()) or "the tool reported an error.")
    if result.text:
        print(result.text)
    for image in result.images:
        print(f"[image: {image.mime_type}, {len(image.data):,} bytes]")
    return 0
