"""A question answered as fields: how the request is asked, and how its answer is checked.

The question carries its fields as a `StructuredRequest` (app.structured): the engine is
asked with the bounded schema (the local worker constrains the answer with a grammar, a
server with `response_format`), the prompt names the fields so the model knows what they
mean, and the answer's token budget is the one that covers the schema's longest answer.
The finished answer is checked: JSON, complete, valid for the schema; its value is kept
with the answer's figures (``stats["structured"]``), where the window finds it to draw
a table, also when the conversation is opened again.

Whether the engine constrains is the rule ask and batch use (`SchemaPolicy`): the local
worker always does; a server does where its provider can, until it refuses. An answer that
was not constrained and is not valid is asked for once more, and a valid one is marked
"not constrained" (``stats["structured_constrained"]``, saved with the answer).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from app.chat.vocabulary import Sampling, Turn
from app.engines.openai_client import ServerSettings, constrains_json
from app.engines.structured_server import SchemaPolicy
from app.structured.answer import check_answer
from app.structured.request import StructuredRequest
from app.structured.table import table
from app.workers import protocol as p

STATS_KEY = "structured"  # in an answer's stats: the checked JSON value
CONSTRAINED_KEY = "structured_constrained"  # False: asked in the prompt, checked afterwards
TRIES_KEY = "structured_tries"  # 2: the first answer was not valid and was asked for again
# The columns in the answer's order: the store writes stats with sorted keys.
COLUMNS_KEY = "structured_columns"
CONSTRAINED_NOTE = "Checked against the fields asked for."
NOT_CONSTRAINED_NOTE = (
    "Not constrained: this server took the fields in the prompt only (it cannot hold an "
    "answer to a schema); the answer was checked against them afterwards."
)


@dataclass(frozen=True)
class Attempt:
    """One try at an answer as fields: the fields, whether the engine is made to keep them."""

    structured: StructuredRequest
    policy: SchemaPolicy
    forced: bool
    tries: int = 1

    @classmethod
    def first(cls, structured: StructuredRequest, policy: SchemaPolicy) -> Attempt:
        return cls(structured, policy, policy.constrained)

    def schema(self) -> dict[str, Any] | None:
        """The schema the engine is asked to constrain to; None when it goes in the prompt."""
        return self.structured.schema if self.forced else None

    def refused(self, sentence: str) -> Attempt | None:
        """The try without `response_format`, if `sentence` is the server refusing it."""
        if self.policy.refused(sentence, self.forced):
            return replace(self, forced=False)
        return None

    def again(self) -> Attempt | None:
        """The second try of an answer that was not valid, if the rule gives one."""
        if self.policy.asks_again(self.forced, self.tries):
            return replace(self, tries=self.tries + 1)
        return None

    def marks(self, value: Any) -> dict[str, Any]:
        """What is kept in the answer's stats: the value, how it was held, the tries."""
        return {
            STATS_KEY: value,
            COLUMNS_KEY: table(value)[0],
            CONSTRAINED_KEY: self.forced,
            TRIES_KEY: self.tries,
        }


class SchemaPolicies:
    """A `SchemaPolicy` per engine: the local worker's grammar, or each server and model."""

    def __init__(self) -> None:
        self._local = SchemaPolicy(True)
        self._servers: dict[tuple[str, str, str | None], SchemaPolicy] = {}

    def of(self, server: ServerSettings | None) -> SchemaPolicy:
        """The policy of `server` (None: the local worker), remembered for this session."""
        if server is None:
            return self._local
        key = (server.base_url, server.model, server.preset)
        if key not in self._servers:
            self._servers[key] = SchemaPolicy(constrains_json(server))
        return self._servers[key]


def ask_for(
    turns: list[Turn], sampling: Sampling, structured: StructuredRequest
) -> tuple[list[Turn], Sampling]:
    """The turns with the fields named in the last question, and the budget that covers them."""
    last = turns[-1]
    text = f"{last.text}\n\n{structured.instruction()}"
    asked = [*turns[:-1], p.ChatTurn(last.role, text, list(last.images))]
    return asked, replace(sampling, max_new_tokens=structured.budget)


def result(text: str, done: p.Done, structured: StructuredRequest) -> Any:
    """The answer's value; `AnswerError` with a sentence if it is cut off or not valid."""
    return check_answer(text, structured.schema, done.finish_reason, structured.budget)


def value_of(stats: dict[str, Any]) -> Any:
    """The checked value kept with an answer (its fields in their order), or None."""
    value = stats.get(STATS_KEY)
    order = stats.get(COLUMNS_KEY)
    if not isinstance(order, list):
        return value

    def ordered(row: Any) -> Any:
        if not isinstance(row, dict):
            return row
        return {**{key: row[key] for key in order if key in row}, **row}

    return [ordered(row) for row in value] if isinstance(value, list) else ordered(value)


def note_of(stats: dict[str, Any]) -> str:
    """The sentence under an answer's table: checked, and whether it was constrained."""
    if stats.get(CONSTRAINED_KEY) is False:
        second = " It was valid on the second try." if stats.get(TRIES_KEY) == 2 else ""
        return NOT_CONSTRAINED_NOTE + second
    return CONSTRAINED_NOTE
