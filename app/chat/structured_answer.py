"""A question answered as fields: how the request is asked, and how its answer is checked.

The question carries its fields as a `StructuredRequest` (app.structured): the engine is
asked with the bounded schema (the local worker constrains the answer with a grammar, a
server with `response_format`), the prompt names the fields so the model knows what they
mean, and the answer's token budget is the one that covers the schema's longest answer.
The finished answer is checked: JSON, complete, valid for the schema; its value is kept
with the answer's figures (``stats["structured"]``), where the window finds it to draw
a table, also when the conversation is opened again.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from app.chat.vocabulary import Sampling, Turn
from app.structured.answer import check_answer
from app.structured.request import StructuredRequest
from app.workers import protocol as p

STATS_KEY = "structured"  # in an answer's stats: the checked JSON value


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
    """The checked value kept with an answer, or None for a free-text answer."""
    return stats.get(STATS_KEY)
