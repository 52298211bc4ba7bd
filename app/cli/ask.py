"""``maverick-desk ask``: one question, streamed to stdout through the worker process."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from app.chat.conversation import Message
from app.chat.session import ChatSession, SessionObserver
from app.cli import ask_attachments, ask_documents, ask_sampling, ask_schema, ask_tools
from app.cli import server as server_cli
from app.cli.ask_ending import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    Interrupted,
    ending_code,
    fail,
    follow,
)
from app.cli.ask_sampling import sampling_of
from app.documents.attachments import AttachmentError
from app.inference.images import DEFAULT_IMAGE_LIMIT, ImageError, check_image_count, image_facts
from app.paths import default_model
from app.workers import protocol as p
from app.workers.client import WorkerClient, describe_exit


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "ask",
        help="ask one question (with images) and stream the answer to stdout",
        description=(
            "Load the model in a worker process, ask PROMPT about the given images and "
            "stream the answer to stdout. Timing figures go to stderr."
        ),
    )
    parser.add_argument(
        "prompt", metavar="PROMPT", help="the question, or - to read it from standard input"
    )
    parser.add_argument(
        "--model",
        help="checkpoint folder (default: the demo checkpoint); with --server, the model name",
    )
    parser.add_argument(
        "--server",
        metavar="URL",
        help="ask an OpenAI-compatible server (vLLM, SGLang, transformers serve) instead of "
        "loading the model here, e.g. http://gpu-box:8000/v1",
    )
    parser.add_argument(
        "--api-key-env",
        metavar="VAR",
        help="with --server: the environment variable that holds the API key",
    )
    server_cli.add_preset_arguments(parser)
    parser.add_argument(
        "--image", action="append", default=[], metavar="FILE", help="attach an image (repeatable)"
    )
    ask_attachments.add_arguments(parser)
    ask_documents.add_arguments(parser)
    ask_tools.add_arguments(parser)
    ask_schema.add_arguments(parser)
    parser.add_argument("--system", metavar="TEXT", help="system prompt")
    ask_sampling.add_arguments(parser)
    parser.add_argument(
        "--max-images",
        type=int,
        default=DEFAULT_IMAGE_LIMIT,
        metavar="N",
        help=f"per-request image limit (default {DEFAULT_IMAGE_LIMIT})",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress or figures on stderr")
    parser.set_defaults(handler=run)


_fail = fail


def _check_args(args: argparse.Namespace) -> str | None:
    if args.prompt == "-":  # long prompts do not fit on a command line (128 KiB per argument)
        args.prompt = sys.stdin.read()
    sampling_problem = ask_sampling.problem(args)
    if sampling_problem:
        return sampling_problem
    if not args.prompt.strip():
        return "the prompt is empty."
    if args.server and not args.model and not args.preset:
        return (
            "--server needs --model NAME, the name the server serves "
            "(`maverick-desk server test --server URL` lists them)."
        )
    if args.api_key_env and not (args.server or args.preset):
        return "--api-key-env only applies with --server or --preset."
    return ask_tools.check(args) or ask_schema.check(args)


def run(args: argparse.Namespace) -> int:
    problem = _check_args(args)
    if problem:
        return _fail(problem, EXIT_BAD_INPUT)
    try:
        check_image_count(len(args.image), args.max_images)
        images = [str(image_facts(path).path.resolve()) for path in args.image]
    except ImageError as exc:
        return _fail(str(exc), EXIT_BAD_INPUT)
    try:
        ask_documents.check(args, ask_attachments.stderr_say(args.quiet))
        args.planned_attachments = ask_attachments.plan(args)
        if args.planned_attachments and (args.server or args.preset):
            # A server's model: pages are drawn for Maverick's tiles, with no local meter.
            say = ask_attachments.stderr_say(args.quiet)
            plans, args.planned_attachments = args.planned_attachments, []
            images, args.prompt = ask_attachments.finish(args, plans, None, images, say)
        if args.doc and (args.server or args.preset):
            say = ask_attachments.stderr_say(args.quiet)
            args.prompt, images = ask_documents.apply(args, None, args.prompt, images, say)
    except AttachmentError as exc:
        return _fail(str(exc), EXIT_BAD_INPUT)
    messages = []
    if args.system:
        messages.append(p.ChatTurn("system", args.system))
    messages.append(p.ChatTurn("user", args.prompt, images))
    if args.server or args.preset:
        return _ask_server(args, messages)
    model = Path(args.model).expanduser() if args.model else default_model()

    client = WorkerClient()
    client.start()
    try:
        return _converse(client, args, model, messages)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    finally:
        client.shutdown(timeout=10)


def _converse(
    client: WorkerClient, args: argparse.Namespace, model: Path, messages: list[p.ChatTurn]
) -> int:
    say = (lambda text: None) if args.quiet else (lambda text: print(text, file=sys.stderr))
    load_id = client.load(model, image_limit=args.max_images, create_demo_if_missing=not args.model)
    for event in client.events_for(load_id):
        if isinstance(event, p.LoadProgress) and event.done == 0:
            say(f"[{event.stage}…]")
        elif isinstance(event, p.Ready):
            label = "  [demo: random weights]" if event.is_demo else ""
            say(f"[{event.name}, {event.quantisation}, {', '.join(event.devices)}{label}]")
            for warning in event.warnings:
                say(f"warning: {warning}")
        elif isinstance(event, p.Error):
            return _fail(event.message)
        elif isinstance(event, p.WorkerDied):
            return _fail(
                f"the model worker stopped while loading ({describe_exit(event.exit_code)})."
            )

    plans = getattr(args, "planned_attachments", [])
    if plans:
        try:
            images, text = ask_attachments.finish(args, plans, model, messages[-1].images, say)
        except AttachmentError as exc:
            return _fail(str(exc), EXIT_BAD_INPUT)
        messages[-1] = p.ChatTurn("user", text, images)
    if args.doc:
        try:
            text, images = ask_documents.apply(
                args, model, messages[-1].text, messages[-1].images, say
            )
        except AttachmentError as exc:
            return _fail(str(exc), EXIT_BAD_INPUT)
        messages[-1] = p.ChatTurn("user", text, images)
    if args.tools:
        return ask_tools.converse(client, args, messages, say, model)
    if getattr(args, "structured", None):
        return ask_schema.converse(client, args, messages, say)

    return _answer(client, args, messages, say)


def _answer(
    client: WorkerClient, args: argparse.Namespace, messages: list[p.ChatTurn], say: Any
) -> int:
    """One question through the chat session, its answer streamed to stdout."""
    system = messages[0].text if messages[0].role == "system" else ""
    question = messages[-1]
    session = ChatSession(client, sampling=lambda: sampling_of(args), system_prompt=lambda: system)
    printer = _Printer()
    session.observers.append(printer)
    session.send(question.text, question.images)
    rid = session.request_id
    if rid is None:  # it could not be sent: the session said why
        return _fail(" ".join(printer.failures))
    try:
        last = follow(client, rid, session.handle, session.stop)
    except Interrupted:
        sys.stdout.write("\n")
        return EXIT_INTERRUPTED
    if isinstance(last, p.Done):
        sys.stdout.write("\n")
        sys.stdout.flush()
        say(
            f"[prompt {last.prompt_tokens} tokens ({last.image_tokens} image), "
            f"{last.cached_summary()}, {last.generated_tokens} generated, first token "
            f"{last.time_to_first_token_s:.2f} s, {last.tokens_per_s:.1f} tokens/s, "
            f"finish: {last.finish_reason}]"
        )
        return 0
    return ending_code(last)


class _Printer(SessionObserver):
    """Writes the answer to stdout as it streams; keeps the sentences of failures."""

    def __init__(self) -> None:
        self.failures: list[str] = []

    def text_received(self, message: Message, text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()

    def answer_failed(self, sentence: str) -> None:
        self.failures.append(sentence)


# Server errors that come from what the user typed, not from the server's health.
_USER_ERRORS = ("bad_input", "unknown_model", "context_too_long", "unauthorized")


def _ask_server(args: argparse.Namespace, messages: list[p.ChatTurn]) -> int:
    """Stream the answer from an OpenAI-compatible server (`--server URL --model NAME`)."""
    # Loaded only here: the openai client takes a moment to import.
    from app.engines.openai_client import ask_server
    from app.engines.server_errors import ServerError

    say = (lambda text: None) if args.quiet else (lambda text: print(text, file=sys.stderr))
    try:
        settings = server_cli.settings_from_args(args, model=args.model or "")
        settings.api_key()
    except ValueError as exc:
        return _fail(str(exc), EXIT_BAD_INPUT)
    except ServerError as exc:
        return _fail(exc.message, EXIT_BAD_INPUT)
    say(f"[{settings.model} at {settings.base_url}]")
    if args.tools:
        return ask_tools.ask_server(args, settings, messages, say)
    if getattr(args, "structured", None):
        return ask_schema.ask_server(args, settings, messages, say)

    wrote = False

    def on_event(event: p.Message) -> None:
        nonlocal wrote
        if isinstance(event, p.Token):
            sys.stdout.write(event.text)
            sys.stdout.flush()
            wrote = True

    try:
        final = ask_server(
            settings,
            messages,
            on_event,
            sampling_of(args),
        )
    except KeyboardInterrupt:
        sys.stdout.write("\n")
        return EXIT_INTERRUPTED
    if isinstance(final, p.Done):
        sys.stdout.write("\n")
        sys.stdout.flush()
        say(
            f"[prompt {final.prompt_tokens} tokens, {final.generated_tokens} generated, "
            f"first token {final.time_to_first_token_s:.2f} s, {final.tokens_per_s:.1f} tokens/s, "
            f"finish: {final.finish_reason}]"
        )
        return 0
    if isinstance(final, p.Error):
        if wrote:  # end the partial answer's line before the message
            sys.stdout.write("\n")
            sys.stdout.flush()
        code = EXIT_BAD_INPUT if final.error_kind in _USER_ERRORS else EXIT_FAILED
        return _fail(final.message, code)
    return EXIT_INTERRUPTED
