"""Field lists ↔ JSON Schema, and the field-list file the editor saves."""

from __future__ import annotations

import json

import pytest

from app.structured.fields import (
    FIELDS_VERSION,
    Field,
    fields_from_json,
    fields_to_json,
    fields_to_schema,
    schema_to_fields,
)
from app.structured.schema import SchemaError

EVERY_TYPE = [
    Field("title", "text", "the product's name"),
    Field("price", "number", "in euros"),
    Field("released", "date"),
    Field("in_stock", "yes/no"),
    Field("colours", "list", "every colour named"),
    Field("size", "one-of", "", ("small", "medium", "large")),
]


def test_every_field_type_becomes_a_schema_and_back() -> None:
    schema = fields_to_schema(EVERY_TYPE)
    assert schema["required"] == [f.name for f in EVERY_TYPE]
    assert schema["additionalProperties"] is False
    props = schema["properties"]
    assert props["title"] == {"type": "string", "description": "the product's name"}
    assert props["released"] == {"type": "string", "format": "date"}
    assert props["in_stock"] == {"type": "boolean"}
    assert props["colours"]["items"] == {"type": "string"}
    assert props["size"]["enum"] == ["small", "medium", "large"]
    assert schema_to_fields(schema) == EVERY_TYPE


def test_field_list_file_round_trips_and_carries_its_version() -> None:
    text = fields_to_json(EVERY_TYPE)
    body = json.loads(text)
    assert body["format"] == "maverick-desk.fields" and body["version"] == FIELDS_VERSION
    assert fields_from_json(body) == EVERY_TYPE


def test_a_newer_field_list_is_refused() -> None:
    body = json.loads(fields_to_json(EVERY_TYPE))
    body["version"] = FIELDS_VERSION + 1
    with pytest.raises(SchemaError, match="newer version of Maverick Desk"):
        fields_from_json(body)


@pytest.mark.parametrize(
    ("fields", "sentence"),
    [
        ([], "The field list is empty"),
        ([Field(" ", "text")], "Field 1 has no name"),
        ([Field("a", "text"), Field("a", "number")], "Two fields are named 'a'"),
        ([Field("a", "money")], "has the type 'money'; choose one of text, number"),
        ([Field("a", "one-of")], "is one-of but has no choices"),
        ([Field("a", "one-of", "", ("x", "x"))], "lists a choice twice"),
        ([Field("a", "text", "", ("x",))], "has choices but is not of type one-of"),
    ],
)
def test_bad_fields_get_a_sentence(fields: list[Field], sentence: str) -> None:
    with pytest.raises(SchemaError, match=sentence):
        fields_to_schema(fields)


def test_a_schema_fields_cannot_show_says_where() -> None:
    nested = {
        "type": "object",
        "properties": {"address": {"type": "object", "properties": {}}},
    }
    with pytest.raises(SchemaError, match="At properties → address: this property is not one"):
        schema_to_fields(nested)
