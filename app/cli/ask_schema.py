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
from typing import Any

from app.structured.answer import AnswerError, check_answer
from app.structured.bounds import DEFAULTS
from app.structured.request import StructuredRequest, load_schema_file
from app.structured.schema import SchemaError
from app.workers import protocol as p
from app.workers.client import WorkerClient, describe_exit, new_request_id

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130
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


def _fail(message: str, code: int = EXIT_FAILED) -> int:
    print(f"maverick-desk ask: {message}", file=sys.stderr)
    return code


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
            request.budget,
            args.temperature,
            args.top_p,
            args.seed,
            json_schema=request.schema,
        )
    )
    pieces: list[str] = []
    try:
        for event in client.events_for(rid):
            if isinstance(event, p.Token):
                pieces.append(event.text)
            elif isinstance(event, p.Done):
                try:
                    value = check_answer(
                        "".join(pieces), request.schema, event.finish_reason, request.budget
                    )
                except AnswerError as exc:
                    return _fail(str(exc))
                _print(value)
                say(
                    f"[constrained to the schema; {event.generated_tokens} of at most "
                    f"{request.budget:,} tokens, {event.tokens_per_s:.1f} tokens/s]"
                )
                return 0
            elif isinstance(event, p.Cancelled):
                return EXIT_INTERRUPTED
            elif isinstance(event, p.Error):
                code = EXIT_BAD_INPUT if event.error_kind == "bad_input" else EXIT_FAILED
                return _fail(event.message, code)
            elif isinstance(event, p.WorkerDied):
                return _fail(
                    f"the model worker stopped mid-answer ({describe_exit(event.exit_code)})."
                )
    except KeyboardInterrupt:
        client.cancel(rid)
        for _ in client.events_for(rid, timeout=30):
            pass
        return EXIT_INTERRUPTED
    return EXIT_FAILED


def ask_server(
    args: argparse.Namespace, settings: Any, messages: list[p.ChatTurn], say: Say
) -> int:
    """Ask a server; where it cannot constrain the answer, check it and ask once more."""
    from app.engines.openai_client import ask_server as ask
    from app.engines.openai_client import constrains_json

    request: StructuredRequest = args.structured
    constrained = constrains_json(settings)
    tries = 0
    while True:
        pieces: list[str] = []

        def on_event(event: p.Message, pieces: list[str] = pieces) -> None:
            if isinstance(event, p.Token):
                pieces.append(event.text)

        try:
            final = ask(
                settings,
                _with_instruction(messages, request),
                on_event,
                max_new_tokens=request.budget,
                temperature=args.temperature,
                top_p=args.top_p,
                seed=args.seed,
                json_schema=request.schema if constrained else None,
            )
        except KeyboardInterrupt:
            return EXIT_INTERRUPTED
        if isinstance(final, p.Error):
            if constrained and "response_format" in final.message:
                say("[the server does not take response_format; the schema goes in the prompt]")
                constrained = False
                continue
            user_error = final.error_kind in ("bad_input", "unknown_model", "unauthorized")
            return _fail(final.message, EXIT_BAD_INPUT if user_error else EXIT_FAILED)
        if not isinstance(final, p.Done):
            return EXIT_INTERRUPTED
        tries += 1
        try:
            value = check_answer(
                "".join(pieces), request.schema, final.finish_reason, request.budget
            )
        except AnswerError as exc:
            if not constrained and tries < 2:
                say(f"[{exc} Asking once more.]")
                continue
            mark = "" if constrained else " (not constrained: the server was asked in the prompt)"
            return _fail(f"{exc}{mark}")
        _print(value)
        if constrained:
            say(f"[constrained to the schema by {settings.base_url}]")
        else:
            say(
                "[not constrained: the provider cannot constrain answers, so the schema was in "
                "the prompt and the answer was checked against it]"
            )
        return 0
