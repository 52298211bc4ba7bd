"""What a structured answer is asked for with: a bounded schema, its token budget, a prompt.

`load_schema_file` reads either a JSON Schema or the field-list file the editor saves,
and says in a sentence what is wrong with either.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.structured.bounds import DEFAULTS, Defaults, prepare
from app.structured.fields import FIELDS_FORMAT, fields_from_json, fields_to_schema
from app.structured.schema import SchemaError

MAX_SCHEMA_BYTES = 1_000_000


@dataclass(frozen=True)
class StructuredRequest:
    """A schema with a bound on everything, and the tokens that cover its longest answer."""

    schema: dict[str, Any]
    budget: int

    def instruction(self) -> str:
        """What the prompt says, so a model knows the fields and what they mean."""
        text = json.dumps(self.schema, ensure_ascii=False, separators=(",", ":"))
        return (
            "Answer with one JSON value only, no other text, that is valid against this JSON "
            f"Schema:\n{text}"
        )


def from_document(document: Any, defaults: Defaults = DEFAULTS) -> StructuredRequest:
    """A request from a decoded JSON Schema or field-list file; raise `SchemaError`."""
    if isinstance(document, dict) and document.get("format") == FIELDS_FORMAT:
        document = fields_to_schema(fields_from_json(document))
    schema, budget = prepare(document, defaults)
    return StructuredRequest(schema, budget)


def load_schema_file(path: str | Path, defaults: Defaults = DEFAULTS) -> StructuredRequest:
    """Read a JSON Schema or a field-list file; every problem is a `SchemaError` sentence."""
    file = Path(path)
    try:
        size = file.stat().st_size
        if size > MAX_SCHEMA_BYTES:
            raise SchemaError(
                f"{file.name} is {size:,} bytes; a schema file may be at most {MAX_SCHEMA_BYTES:,}."
            )
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SchemaError(f"{file}: the file does not exist.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SchemaError(f"{file}: cannot be read as UTF-8 text ({exc}).") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SchemaError(
            f"{file.name} is not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
        ) from None
    try:
        return from_document(document, defaults)
    except SchemaError as exc:
        raise SchemaError(f"{file.name}: {exc}") from None
