"""Checking that a structured answer is a result: complete, JSON, and valid for its schema.

A constrained answer that stopped at its token budget is cut off mid-way: it is a
failure with a sentence, never a result, even if its text happens to parse.
"""

from __future__ import annotations

import json
from typing import Any

from app.structured.schema import where


class AnswerError(ValueError):
    """An answer that is not a result; the message is a sentence for the person."""


def check_answer(text: str, schema: dict[str, Any], finish_reason: str, budget: int) -> Any:
    """The decoded answer if it is complete and valid for `schema`; else raise `AnswerError`."""
    import jsonschema

    if finish_reason == "length":
        raise AnswerError(
            f"The answer was cut off at its limit of {budget:,} tokens before it was complete, "
            "so there is no result. Lower the schema's maxLength or maxItems, or ask again."
        )
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise AnswerError(
            f"The answer is not JSON ({exc.msg} at character {exc.pos + 1}), so there is no result."
        ) from None
    validator = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    error = jsonschema.exceptions.best_match(validator(schema).iter_errors(value))
    if error is not None:
        raise AnswerError(
            f"The answer does not match the schema at {where(error.absolute_path)}: "
            f"{error.message}."
        )
    return value
