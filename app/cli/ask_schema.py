"""``maverick-desk ask --schema FILE``: an answer that is JSON valid for a schema, or a sentence.

The local worker constrains the answer to the schema as it is generated
(`app.inference.constrained`); a server is asked to (`response_format`), or, where its
provider does not take that, gets the schema in the prompt, and the answer is checked
afterwards, asked for once more if it is not valid, and marked "not constrained". In every
case the answer is checked against the schema (`app.structured.answer`) before it is printed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from app.cli import ask_ending
from app.cli.ask_ending import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_INTERRUPTED
from app.cli.ask_sampling import sampling_of
from app.structured.answer import AnswerError, check_answer
from app.structured.bounds import DEFAULTS
from app.structured.request import StructuredRequest, load_schema_file
from app.structured.schema import SchemaError
from app.workers import protocol as p
from app.workers.client import WorkerClient, new_request_id

Say = Callable[[str], None]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--schema",
        metavar="FILE",
        help="answer with JSON valid for this JSON Schema or field-list file, printed once "
        f"checked; unbounded values get {DEFAULTS.describe()}, and the token budget is set "
        "to cover them (--max-new-tokens does not apply)",
    )


def check(args: argparse.Namespace) -> str | None:
    """Load `--schema` into `args.structured`; the sentence for a problem, if there is one."""
    args.structured = None
    if not getattr(args, "schema", None):
        return None
    if args.tools:
        return "--schema and --tools cannot be combined: an answer is either JSON or tool calls."
    try:
        args.structured = load_schema_file(args.schema)
    except SchemaError as exc:
        return str(exc)
    return None


_fail = ask_ending.fail


def _with_instruction(messages: list[p.ChatTurn], request: StructuredRequest) -> list[p.ChatTurn]:
    last = messages[-1]
    text = f"{last.text}\n\n{request.instruction()}"
    return [*messages[:-1], p.ChatTurn(last.role, text, list(last.images))]


def _print(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2) + "\n")
    sys.stdout.flush()


def converse(
    client: WorkerClient, args: argparse.Namespace, messages: list[p.ChatTurn], say: Say
) -> int:
    """Ask the loaded worker for a constrained answer; print it once checked."""
    request: StructuredRequest = args.structured
    rid = new_request_id()
    client.send(
        p.Generate(
            rid,
            _with_instruction(messages, request),
            replace(sampling_of(args), max_new_tokens=request.budget),
            json_schema=request.schema,
        )
    )
    pieces: list[str] = []

    def handle(event: p.Message) -> None:
        if isinstance(event, p.Token):
            pieces.append(event.text)

    try:
        last = ask_ending.follow(client, rid, handle, lambda: client.cancel(rid))
    except ask_ending.Interrupted:
        return EXIT_INTERRUPTED
    if not isinstance(last, p.Done):
        return ask_ending.ending_code(last)
    try:
        value = check_answer("".join(pieces), request.schema, last.finish_reason, request.budget)
    except AnswerError as exc:
        return _fail(str(exc))
    _print(value)
    say(
        f"[constrained to the schema; {last.generated_tokens} of at most "
        f"{request.budget:,} tokens, {last.tokens_per_s:.1f} tokens/s]"
    )
    return 0


def ask_server(
    args: argparse.Namespace, settings: Any, messages: list[p.ChatTurn], say: Say
) -> int:
    """Ask a server; where it cannot constrain the answer, check it and ask once more."""
    from app.engines.structured_server import StructuredServer

    request: StructuredRequest = args.structured
    server = StructuredServer(settings, lambda sentence: say(f"[{sentence}]"))

    def checked(text: str, done: p.Done, constrained: bool) -> tuple[Any, bool]:
        return check_answer(text, request.schema, done.finish_reason, request.budget), constrained

    try:
        final = server.ask(
            _with_instruction(messages, request),
            request.schema,
            checked,
            AnswerError,
            on_retry=lambda exc: say(f"[{exc} Asking once more.]"),
            sampling=replace(sampling_of(args), max_new_tokens=request.budget),
        )
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except AnswerError as exc:
        mark = (
            "" if server.constrained else " (not constrained: the server was asked in the prompt)"
        )
        return _fail(f"{exc}{mark}")
    if isinstance(final, p.Error):
        user_error = final.error_kind in ("bad_input", "unknown_model", "unauthorized")
        return _fail(final.message, EXIT_BAD_INPUT if user_error else EXIT_FAILED)
    if not isinstance(final, tuple):
        return EXIT_INTERRUPTED
    value, constrained = final
    _print(value)
    if constrained:
        say(f"[constrained to the schema by {settings.base_url}]")
    else:
        say(
            "[not constrained: the provider cannot constrain answers, so the schema was in "
            "the prompt and the answer was checked against it]"
        )
    return 0
