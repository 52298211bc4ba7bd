"""``ask --tools``: the answer may call tools from the enabled MCP servers.

Each call is approved on the terminal (run once, always allow the tool, or deny with a
reason), or by ``--approve all|none`` for scripts. With neither a terminal nor the
flag, ``ask`` refuses to start: a tool must never run because nobody could be asked.
While the servers run, SIGTERM and SIGHUP stop the answer as Ctrl+C does and end the
servers' process groups (exit status 128 + the signal).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.cli.ask_sampling import sampling_of
from app.tools.config import ConfigError
from app.tools.stop_signals import StopSignal, stopping_on_signals
from app.tools.tool_loop import Approval, LoopTurn, ProposedCall, Step
from app.tools.tool_settings import SettingsError, ToolSettings, save_settings
from app.workers import protocol as p

Say = Callable[[str], None]
START_TIMEOUT_S = 30.0
RESULT_PREVIEW = 300


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tools", action="store_true", help="let the model call tools of the enabled MCP servers"
    )
    parser.add_argument(
        "--approve",
        choices=("all", "none"),
        help="with --tools and no terminal: run every call (all) or decline every call (none)",
    )
    parser.add_argument("--tools-config", metavar="FILE", help="mcp.json to use with --tools")


def check(args: argparse.Namespace) -> str | None:
    """Why the tool flags cannot be used as given; None if they can."""
    if not getattr(args, "tools", False):
        if args.approve or args.tools_config:
            return "--approve and --tools-config only apply with --tools."
        return None
    if args.approve is None and not (sys.stdin.isatty() and sys.stderr.isatty()):
        return (
            "--tools needs --approve all or --approve none when there is no terminal to ask "
            "on; no tool runs without someone's approval."
        )
    return None


def _ask_on_terminal(proposal: ProposedCall) -> Approval:
    print(
        f"\nThe model wants to call {proposal.tool!r} on the server {proposal.server!r} with:\n"
        f"{proposal.arguments_json()}",
        file=sys.stderr,
    )
    while True:
        print(
            "[y] run once, [a] always allow this tool, [n REASON] deny: ", end="", file=sys.stderr
        )
        answer = input().strip()
        if answer.lower() in {"y", "yes"}:
            return Approval("run")
        if answer.lower() in {"a", "always"}:
            return Approval("always")
        word, _, reason = answer.partition(" ")
        if word.lower() in {"n", "no"}:
            return Approval("deny", reason=reason.strip())


def approver_for(args: argparse.Namespace) -> Callable[[ProposedCall], Approval]:
    if args.approve == "all":
        return lambda proposal: Approval("run")
    if args.approve == "none":
        return lambda proposal: Approval("deny", reason="tools were declined (--approve none)")
    return _ask_on_terminal


def _show_turn(say: Say) -> Callable[[LoopTurn], None]:
    def show(turn: LoopTurn) -> None:
        if turn.role == "assistant":
            for call in turn.tool_calls:
                say(f"[tool call: {call['name']} {call['arguments']}]")
            return
        text = " ".join(turn.text.split())
        if len(text) > RESULT_PREVIEW:
            text = text[:RESULT_PREVIEW] + "…"
        images = f" +{len(turn.images)} image(s)" if turn.images else ""
        say(f"[tool {'error' if turn.is_error else 'result'}: {text}{images}]")

    return show


def run_loop(
    args: argparse.Namespace,
    say: Say,
    make_step: Callable[[list[dict[str, Any]], Path], Step],
    messages: list[p.ChatTurn] | None = None,
) -> int:
    """Start the enabled servers and run the tool loop to its answer; the exit code.

    Tool images go to the model up to `--max-images` less the images of `messages`.
    """
    from app.cli.tools import load_tool_setup
    from app.engines.tool_steps import StepFailed
    from app.tools.catalog import ToolCatalog
    from app.tools.host import ToolHost
    from app.tools.tool_loop import ToolLoop

    try:
        servers, settings, settings_path = load_tool_setup(args.tools_config)
    except (ConfigError, SettingsError) as exc:
        print(f"maverick-desk ask: {exc}", file=sys.stderr)
        return 2
    enabled = [server for server in servers if settings.is_enabled(server)]

    def remember(changed: ToolSettings) -> None:
        save_settings(changed, settings_path)

    host = ToolHost(settings.call_timeout_s, settings.result_limit)
    with (
        stopping_on_signals(),
        host,
        tempfile.TemporaryDirectory(prefix="maverick-tools-") as images,
    ):
        host.start(enabled)
        host.wait_started(START_TIMEOUT_S)
        for state in host.states():
            if state.status != "ready":
                say(f"warning: {state.error or f'the tool server {state.name!r} did not start.'}")
        catalog = ToolCatalog(host.tools(), settings)
        if not enabled:
            say("warning: no tool server is enabled (`maverick-desk tools enable NAME`).")
        ready = [state for state in host.states() if state.status == "ready"]
        say(f"[tools: {len(catalog)} from {len(ready)} server(s)]")
        loop = ToolLoop(
            catalog,
            host.call,
            approver_for(args),
            settings=settings,
            on_settings_changed=remember,
            on_turn=_show_turn(say),
            image_budget=max(0, args.max_images - sum(len(m.images) for m in messages or [])),
        )
        try:
            outcome = loop.run(make_step(catalog.definitions(), Path(images)))
        except StepFailed as exc:
            print(f"maverick-desk ask: {exc}", file=sys.stderr)
            bad = isinstance(exc.event, p.Error) and exc.event.error_kind == "bad_input"
            return 2 if bad else 1
        except KeyboardInterrupt:
            loop.stop()
            raise
    for notice in outcome.notices:
        say(f"note: {notice}")
    if outcome.ended == "limit":
        return 1
    return 0


def prompt_parts(done: p.Done, folder: Path, base: list[p.ChatTurn], turns: list[LoopTurn]) -> str:
    """The last step's prompt in the context meter's parts, or "" if they cannot be counted.

    Images and tool definitions are the worker's own figures; the meter splits the text
    (your text, the tools' results) and earlier messages are the rest, so the parts add
    up to the worker's prompt tokens.
    """
    from app.documents.context import ContextError, ContextMeter, MeterTurn
    from app.documents.tiling import TilingError, tile_grid

    one = tile_grid(1, 1)  # the text's split does not depend on an image's size
    meter_turns = [MeterTurn(t.role, t.text, (one,) * len(t.images)) for t in base]
    for turn in turns:
        calls = tuple(turn.tool_calls) if turn.role == "assistant" else ()
        meter_turns.append(MeterTurn(turn.role, turn.text, (one,) * len(turn.images), calls))
    try:
        estimate = ContextMeter(folder).estimate(meter_turns)
    except (ContextError, TilingError, OSError):
        return ""
    yours, results = estimate.your_text_tokens, estimate.tool_result_tokens
    earlier = done.prompt_tokens - done.image_tokens - done.tool_tokens - yours - results
    return (
        f"{earlier} earlier messages, {yours} your text, {done.image_tokens} image, "
        f"{done.tool_tokens} tool definitions, {results} tool results"
    )


def _stats(done: p.Done, rounds: int, parts: str = "") -> str:
    # Servers report the prompt as a whole; the local worker counts its parts.
    tools = f", {done.tool_tokens} tool definitions" if done.tool_tokens else ""
    parts = parts or f"{done.image_tokens} image{tools}"
    return (
        f"[prompt {done.prompt_tokens} tokens ({parts}), "
        f"{done.generated_tokens} generated, first token {done.time_to_first_token_s:.2f} s, "
        f"{done.tokens_per_s:.1f} tokens/s, finish: {done.finish_reason}, "
        f"model steps: {rounds}]"
    )


def _write(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def converse(
    client: Any,
    args: argparse.Namespace,
    messages: list[p.ChatTurn],
    say: Any,
    model: Path | None = None,
) -> int:
    """`ask --tools` with the local worker (loaded already): the loop to its answer."""
    from app.engines.tool_steps import worker_step

    dones: list[p.Done] = []
    last_turns: list[LoopTurn] = []

    def make_step(tools: list[dict[str, Any]], images: Path) -> Step:
        inner = worker_step(client, messages, tools, images, _write, dones.append, **sampling)

        def step(turns: list[LoopTurn]) -> Any:
            last_turns[:] = turns
            return inner(turns)

        return step

    sampling = sampling_of(args).engine_kwargs()
    try:
        code = run_loop(args, say, make_step, messages)
    except StopSignal as stop:
        _write("\n")
        say(f"stopped by {stop.name}; the tool servers were ended.")
        return stop.exit_code
    _write("\n")
    if dones:
        parts = prompt_parts(dones[-1], model, messages, last_turns) if model else ""
        say(_stats(dones[-1], len(dones), parts))
    return code


def ask_server(
    args: argparse.Namespace, settings: Any, messages: list[p.ChatTurn], say: Any
) -> int:
    """`ask --server … --tools`: the loop through an OpenAI-compatible server."""
    from app.engines.tool_steps import server_step

    dones: list[p.Done] = []
    sampling = sampling_of(args).engine_kwargs()
    try:
        code = run_loop(
            args,
            say,
            lambda tools, images: server_step(
                settings, messages, tools, images, _write, dones.append, **sampling
            ),
            messages,
        )
    except StopSignal as stop:
        _write("\n")
        say(f"stopped by {stop.name}; the tool servers were ended.")
        return stop.exit_code
    except KeyboardInterrupt:
        _write("\n")
        return 130  # as ask does on Ctrl+C
    _write("\n")
    if dones:
        say(_stats(dones[-1], len(dones)))
    return code
