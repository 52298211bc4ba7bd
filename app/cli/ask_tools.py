"""``ask --tools``: the answer may call tools from the enabled MCP servers.

Each call is approved on the terminal (run once, always allow the tool, or deny with a
reason), or by ``--approve all|none`` for scripts. With neither a terminal nor the
flag, ``ask`` refuses to start: a tool must never run because nobody could be asked.
While the servers run, SIGTERM and SIGHUP stop the answer as Ctrl+C does and end the
servers' process groups (exit status 128 + the signal).
"""

from __future__ import annotations

import argparse
import math
import queue
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.chat.conversation import Message
from app.chat.engine import Engine
from app.chat.session import ChatSession, SessionObserver
from app.chat.tool_answer import ToolLoopAnswer
from app.chat.vocabulary import Request
from app.cli.ask_ending import EXIT_INTERRUPTED, ending_code
from app.cli.ask_sampling import sampling_of
from app.tools.config import ConfigError
from app.tools.stop_signals import StopSignal, stopping_on_signals
from app.tools.tool_loop import Approval, LoopTurn, ProposedCall
from app.tools.tool_settings import SettingsError, save_settings
from app.workers import protocol as p
from app.workers.client import WorkerClient

if TYPE_CHECKING:  # the openai client loads only with --server
    from app.engines.openai_client import ServerSettings

Say = Callable[[str], None]
START_TIMEOUT_S = 30.0
STOP_WAIT_S = 30.0  # for the answer to end once stopped
EVENT_SLICE_S = 0.2  # Ctrl+C and SIGTERM are heard between waits
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


def _show_turn(say: Say) -> Callable[[LoopTurn, dict[str, Any]], None]:
    def show(turn: LoopTurn, record: dict[str, Any]) -> None:
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


class _Printer(SessionObserver):
    """Writes the answer's prose to stdout as it streams; notes how it ended."""

    def __init__(self) -> None:
        self.ended = threading.Event()
        self.last: p.Message | None = None

    def text_received(self, message: Message, text: str) -> None:
        _write(text)

    def answer_ended(self, message: Message, event: p.Message | None) -> None:
        self.last = event
        self.ended.set()


# The next event of any request, or None after the timeout: the engine's queue.
NextEvent = Callable[[float], "p.Message | None"]


def _follow(
    session: ChatSession, printer: _Printer, next_event: NextEvent, timeout: float | None
) -> None:
    """Hand the engine's events to the session until the answer ended (or `timeout` s)."""
    deadline = time.monotonic() + timeout if timeout is not None else math.inf
    while not printer.ended.is_set() and time.monotonic() < deadline:
        event = next_event(EVENT_SLICE_S)
        if event is not None:
            session.handle(event)


def run_session(
    args: argparse.Namespace,
    say: Say,
    engine: Engine,
    messages: list[p.ChatTurn],
    next_event: NextEvent,
) -> tuple[int, ToolLoopAnswer | None, p.Done | None]:
    """Start the enabled servers and answer through the chat session's tool loop.

    Returns the exit code, the answer's loop and its last `Done`. Tool images go to the
    model up to `--max-images` less the images of `messages`.
    """
    from app.cli.tools import load_tool_setup
    from app.tools.catalog import ToolCatalog
    from app.tools.host import ToolHost

    try:
        servers, settings, settings_path = load_tool_setup(args.tools_config)
    except (ConfigError, SettingsError) as exc:
        print(f"maverick-desk ask: {exc}", file=sys.stderr)
        return 2, None, None
    enabled = [server for server in servers if settings.is_enabled(server)]
    system = messages[0].text if messages[0].role == "system" else ""
    session = ChatSession(engine, sampling=lambda: sampling_of(args), system_prompt=lambda: system)
    printer = _Printer()
    session.observers.append(printer)
    approver = approver_for(args)
    asking = threading.Event()  # a person is being asked on the terminal

    def approve(proposal: ProposedCall) -> Approval:
        asking.set()
        try:
            return approver(proposal)
        finally:
            asking.clear()

    answers: list[ToolLoopAnswer] = []
    host = ToolHost(settings.call_timeout_s, settings.result_limit)
    with (
        stopping_on_signals(),
        host,
        tempfile.TemporaryDirectory(prefix="maverick-tools-") as images,
    ):
        host.start(enabled)
        host.wait_started(START_TIMEOUT_S)
        catalog = ToolCatalog(host.tools(), settings)
        if not enabled:
            say("warning: no tool server is enabled (`maverick-desk tools enable NAME`).")
        ready = [state for state in host.states() if state.status == "ready"]
        say(f"[tools: {len(catalog)} from {len(ready)} server(s)]")

        def strategy(request: Request) -> ToolLoopAnswer:
            answer = ToolLoopAnswer(
                engine,
                host,
                settings,
                approve,
                session.handle,
                Path(images),
                on_settings_changed=lambda changed: save_settings(changed, settings_path),
                on_notice=lambda sentence: say(f"note: {sentence}"),
                image_budget=max(0, args.max_images - sum(len(m.images) for m in messages)),
                on_turn=_show_turn(say),
            )
            answers.append(answer)
            return answer

        session.choose_strategy = strategy
        question = messages[-1]
        session.send(question.text, question.images)
        try:
            _follow(session, printer, next_event, None)
        except KeyboardInterrupt:
            session.stop()
            if not asking.is_set():  # a prompt on the terminal cannot be taken back
                _follow(session, printer, next_event, STOP_WAIT_S)
            raise
        answers[0].join(STOP_WAIT_S)
    answer = answers[0]
    last = printer.last
    if not isinstance(last, p.Done):
        return ending_code(last), answer, None
    limited = answer.outcome is not None and answer.outcome.ended == "limit"
    return (1 if limited else 0), answer, last


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


def _answered(
    args: argparse.Namespace,
    say: Say,
    engine: Engine,
    messages: list[p.ChatTurn],
    next_event: NextEvent,
    model: Path | None = None,
) -> int:
    try:
        code, answer, done = run_session(args, say, engine, messages, next_event)
    except StopSignal as stop:
        _write("\n")
        say(f"stopped by {stop.name}; the tool servers were ended.")
        return stop.exit_code
    except KeyboardInterrupt:
        _write("\n")
        return EXIT_INTERRUPTED
    _write("\n")
    if done is not None and answer is not None:
        parts = prompt_parts(done, model, messages, answer.turns) if model else ""
        say(_stats(done, answer.steps, parts))
    return code


def converse(
    client: WorkerClient,
    args: argparse.Namespace,
    messages: list[p.ChatTurn],
    say: Say,
    model: Path | None = None,
) -> int:
    """`ask --tools` with the local worker (loaded already): the session's loop to its answer."""
    return _answered(args, say, client, messages, client.next_event, model)


def ask_server(
    args: argparse.Namespace, settings: ServerSettings, messages: list[p.ChatTurn], say: Say
) -> int:
    """`ask --server … --tools`: the session's loop through an OpenAI-compatible server."""
    from app.engines.server_thread import ServerOnThread

    events: queue.SimpleQueue[p.Message] = queue.SimpleQueue()

    def next_event(timeout: float) -> p.Message | None:
        try:
            return events.get(timeout=timeout)
        except queue.Empty:
            return None

    engine = ServerOnThread(settings, events.put)
    try:
        return _answered(args, say, engine, messages, next_event)
    finally:
        engine.close()
