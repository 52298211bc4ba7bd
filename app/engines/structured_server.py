"""An answer valid for a JSON Schema from an OpenAI-compatible server, asked once for all.

The server is asked to constrain the answer (`response_format`) where its provider can;
one that refuses it (its error names ``response_format``) is, from then on, given the
schema in the prompt only (the caller's messages carry the instruction). Such an
unconstrained answer is checked and, if it is not valid, asked for once more. Used by
``ask --schema``, by batch jobs (several threads may share one) and, through its
`SchemaPolicy`, by the chat's Fields toggle.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from app.engines.openai_client import ServerSettings, ask_server, constrains_json
from app.vocabulary.sampling import Sampling
from app.workers import protocol as p

T = TypeVar("T")
REFUSED = "The server does not take response_format; the schema goes in the prompt."


class SchemaPolicy:
    """The one rule for answers as fields, kept per server (ask, batch and the chat share it).

    A server is asked to constrain the answer (`response_format`) where its provider can;
    once it refuses (its error names ``response_format``) the schema goes in the prompt
    only. An unconstrained answer that is not valid is asked for once more: two tries.
    """

    TRIES = 2

    def __init__(self, constrained: bool) -> None:
        self.constrained = constrained  # False once the server refused

    def refused(self, message: str, forced: bool) -> bool:
        """Whether an error `message` is the server refusing `response_format` (remembered)."""
        if forced and "response_format" in message:
            self.constrained = False
            return True
        return False

    def asks_again(self, forced: bool, tries: int) -> bool:
        """Whether an answer that is not valid after `tries` tries is asked for once more."""
        return not forced and tries < self.TRIES


class StructuredServer:
    """Asks one server for answers checked against a schema; remembers a refusal."""

    def __init__(self, settings: ServerSettings, say: Callable[[str], None]) -> None:
        self.settings = settings
        self.policy = SchemaPolicy(constrains_json(settings))
        self._say = say

    @property
    def constrained(self) -> bool:
        """Whether the server is asked to constrain answers (False once it refused)."""
        return self.policy.constrained

    def ask(
        self,
        messages: Sequence[p.ChatTurn],
        schema: dict[str, Any] | None,
        check: Callable[[str, p.Done, bool], T],
        retry_on: type[Exception],
        on_retry: Callable[[Exception], None] = lambda exc: None,
        sampling: Sampling | None = None,
    ) -> T | p.Message:
        """`check(text, done, constrained)`'s value, or the server's `Error` or `Cancelled`.

        `check` raises `retry_on` for an answer that is not valid: an unconstrained one is
        then asked for once more (`on_retry` hears why), else the exception goes on. With
        `schema` None the answer is plain text (checked, never asked again).
        """
        tries = 0
        while True:
            forced = self.constrained and schema is not None
            pieces: list[str] = []

            def on_event(event: p.Message, pieces: list[str] = pieces) -> None:
                if isinstance(event, p.Token):
                    pieces.append(event.text)

            final = ask_server(
                self.settings,
                messages,
                on_event,
                sampling,
                json_schema=schema if forced else None,
            )
            if isinstance(final, p.Error) and self.policy.refused(final.message, forced):
                self._say(REFUSED)
                continue
            if not isinstance(final, p.Done):
                return final
            tries += 1
            try:
                return check("".join(pieces), final, forced)
            except retry_on as exc:
                if schema is None or not self.policy.asks_again(forced, tries):
                    raise
                on_retry(exc)
