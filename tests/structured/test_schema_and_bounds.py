"""Pasted schemas: where they are wrong; bounds and the token budget that covers them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.structured.answer import AnswerError, check_answer
from app.structured.bounds import DEFAULTS, Defaults, bounded, token_budget
from app.structured.request import from_document, load_schema_file
from app.structured.schema import SchemaError, check_schema


@pytest.mark.parametrize(
    ("schema", "sentence"),
    [
        ([1, 2], "must be a JSON object; this one is a list"),
        ({"type": "strin"}, "not valid JSON Schema at type: 'strin' is not valid"),
        (
            {"type": "object", "properties": {"age": {"type": "integer", "minimum": "ten"}}},
            "at properties → age → minimum: 'ten' is not of type 'number'",
        ),
        ({"type": "string", "pattern": "a+"}, "At pattern: a `pattern` cannot be given a length"),
        ({"type": "object", "properties": {"x": {}}}, "At properties → x: no `type`"),
        (
            {"type": "object", "additionalProperties": True},
            "At additionalProperties: extra properties cannot be bounded",
        ),
        ({"type": "string", "format": "email"}, "the format 'email' is not supported"),
        ({"type": "array"}, "a list needs `items`"),
        (
            {
                "$defs": {"n": {"type": "array", "items": {"$ref": "#/$defs/n"}}},
                "$ref": "#/$defs/n",
            },  # noqa: E501
            "refers to itself",
        ),
        ({"$ref": "#/$defs/missing"}, "points at nothing"),
    ],
)
def test_an_unusable_schema_gets_a_sentence_that_says_where(schema: Any, sentence: str) -> None:
    with pytest.raises(SchemaError, match=sentence.replace("(", r"\(").replace("[", r"\[")):
        from_document(schema)


def test_defaults_bound_what_the_schema_leaves_open_and_keep_its_own() -> None:
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "short": {"type": "string", "maxLength": 5},
            "tags": {"type": "array", "items": {"type": "string"}},
            "count": {"type": "integer", "minimum": 0},
            "ratio": {"type": "number"},
        },
    }
    out = bounded(check_schema(schema))
    props = out["properties"]
    assert props["name"]["maxLength"] == DEFAULTS.text_chars
    assert props["short"]["maxLength"] == 5
    assert props["tags"]["maxItems"] == DEFAULTS.list_items
    assert props["tags"]["items"]["maxLength"] == DEFAULTS.entry_chars
    assert props["count"] == {"type": "integer", "minimum": 0, "maximum": 1_000_000_000}
    assert props["ratio"]["minimum"] == DEFAULTS.number_min
    assert out["additionalProperties"] is False
    assert "maxLength" not in schema["properties"]["name"]  # the caller's schema is untouched


def _longest(schema: dict[str, Any]) -> Any:
    """The longest answer a bounded schema allows (4-byte characters, every item)."""
    kind = schema.get("type")
    if "enum" in schema:
        return max(schema["enum"], key=lambda v: len(json.dumps(v, ensure_ascii=False)))
    if kind == "string":
        return "2026-12-07" if schema.get("format") == "date" else "😀" * schema["maxLength"]
    if kind in ("number", "integer"):
        low = -abs(schema["minimum"]) if schema["minimum"] < 0 else schema["minimum"]
        return low - 0.123456 if kind == "number" else low
    if kind == "boolean":
        return False
    if kind == "array":
        return [_longest(schema["items"])] * schema["maxItems"]
    return {name: _longest(sub) for name, sub in schema["properties"].items()}


def test_the_budget_covers_the_longest_answer_in_bytes() -> None:
    fields = json.loads((Path(__file__).parent / "every_type.json").read_text(encoding="utf-8"))
    request = from_document(fields)
    text = json.dumps(_longest(request.schema), ensure_ascii=False, separators=(", ", ": "))
    # Every token the grammar accepts adds at least one byte; one more for the end token.
    assert len(text.encode("utf-8")) + 1 <= request.budget
    assert request.budget < 2 * len(text.encode("utf-8")) + 64  # and not wildly more


def test_a_schema_whose_answers_could_be_too_long_is_refused() -> None:
    schema = {"type": "array", "items": {"type": "string"}, "maxItems": 1000}
    with pytest.raises(SchemaError, match=r"could take [\d,]+ tokens, more than the 65,536"):
        token_budget(bounded(schema))
    small = Defaults(max_budget=100)
    with pytest.raises(SchemaError, match="more than the 100 one answer may have"):
        from_document({"type": "string"}, small)


def test_schema_files_say_what_is_wrong(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"type": "object",', encoding="utf-8")
    with pytest.raises(SchemaError, match="broken.json is not JSON: .* at line 1, column 19"):
        load_schema_file(broken)
    with pytest.raises(SchemaError, match="nope.json: the file does not exist"):
        load_schema_file(tmp_path / "nope.json")
    ok = tmp_path / "ok.json"
    ok.write_text('{"type": "object", "properties": {"a": {"type": "boolean"}}}', encoding="utf-8")
    assert load_schema_file(ok).budget >= len('{"a": false}') + 1


def test_an_answer_cut_off_or_off_schema_is_never_a_result() -> None:
    request = from_document({"type": "object", "properties": {"n": {"type": "integer"}}})
    with pytest.raises(AnswerError, match="cut off at its limit of"):
        check_answer('{"n": 1}', request.schema, "length", request.budget)
    with pytest.raises(AnswerError, match="not JSON"):
        check_answer('{"n": ', request.schema, "stop", request.budget)
    with pytest.raises(AnswerError, match="at n: 'x' is not of type 'integer'"):
        check_answer('{"n": "x"}', request.schema, "stop", request.budget)
    with pytest.raises(AnswerError, match="Additional properties are not allowed"):
        check_answer('{"n": 1, "m": 2}', request.schema, "stop", request.budget)
    assert check_answer('{"n": 7}', request.schema, "stop", request.budget) == {"n": 7}
