"""How ``ask`` follows one answer of the local worker to its end, and what its end means.

Plain answers (through the chat session) and answers constrained to a schema are
followed the same way: each event goes to a handler; Ctrl+C stops the answer and waits
for the worker to confirm, so the next command finds the worker free.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from app.workers import protocol as p
from app.workers.client import WorkerClient, describe_exit

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


class Interrupted(Exception):
    """The user pressed Ctrl+C; the answer was stopped and has ended."""


def fail(message: str, code: int = EXIT_FAILED) -> int:
    """Say `message` on stderr as ``ask`` does; returns `code`."""
    print(f"maverick-desk ask: {message}", file=sys.stderr)
    return code


def follow(
    client: WorkerClient,
    request_id: str,
    handle: Callable[[p.Message], None],
    stop: Callable[[], None],
) -> p.Message | None:
    """Hand `request_id`'s events to `handle`; returns the last (its end, or None).

    On Ctrl+C, `stop` is called, the rest of the events still go to `handle`, and
    `Interrupted` is raised.
    """
    last: p.Message | None = None
    try:
        for last in client.events_for(request_id):
            handle(last)
    except KeyboardInterrupt:
        stop()
        for last in client.events_for(request_id, timeout=30):
            handle(last)
        raise Interrupted() from None
    return last


def ending_code(last: p.Message | None) -> int:
    """The exit code of an answer that did not end in `Done`, its sentence said."""
    if isinstance(last, p.Cancelled):
        return EXIT_INTERRUPTED
    if isinstance(last, p.Error):
        return fail(last.message, EXIT_BAD_INPUT if last.error_kind == "bad_input" else EXIT_FAILED)
    if isinstance(last, p.WorkerDied):
        return fail(f"the model worker stopped mid-answer ({describe_exit(last.exit_code)}).")
    return EXIT_FAILED
