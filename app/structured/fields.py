"""The fields a person describes, and the JSON Schema they stand for.

A field has a name, a type (text, number, date, yes/no, list, one-of), a description and,
for one-of, its choices. A field list becomes an object schema with one required property
per field; a schema of that shape becomes a field list again. The file the field editor
saves carries a format name and version: a newer version is refused, never guessed at.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from app.storage.versioned import is_newer, newer_version_sentence
from app.structured.schema import SchemaError, check_schema, where

FIELDS_FORMAT = "maverick-desk.fields"
FIELDS_VERSION = 1
# The types a person picks from, as the editor and the field-list file name them.
# Stored on disk: never change or reuse a name.
FIELD_TYPES = ("text", "number", "date", "yes/no", "list", "one-of")
MAX_NAME_CHARS = 64
MAX_FIELDS = 100


@dataclass(frozen=True)
class Field:
    """One thing to extract: e.g. Field("price", "number", "the price in euros")."""

    name: str
    type: str
    description: str = ""
    choices: tuple[str, ...] = field(default_factory=tuple)  # for one-of


def check_fields(fields: list[Field]) -> None:
    """Raise `SchemaError` with a sentence for the first field that cannot be used."""
    if not fields:
        raise SchemaError("The field list is empty; add at least one field.")
    if len(fields) > MAX_FIELDS:
        raise SchemaError(f"{len(fields)} fields; the limit is {MAX_FIELDS}.")
    seen: set[str] = set()
    for number, item in enumerate(fields, start=1):
        label = f"Field {number}"
        if not item.name.strip():
            raise SchemaError(f"{label} has no name.")
        if len(item.name) > MAX_NAME_CHARS:
            raise SchemaError(f"{label}'s name is longer than {MAX_NAME_CHARS} characters.")
        if item.name in seen:
            raise SchemaError(f"Two fields are named {item.name!r}; names must differ.")
        seen.add(item.name)
        if item.type not in FIELD_TYPES:
            raise SchemaError(
                f"Field {item.name!r} has the type {item.type!r}; "
                f"choose one of {', '.join(FIELD_TYPES)}."
            )
        if item.type == "one-of":
            if not item.choices or any(not c.strip() for c in item.choices):
                raise SchemaError(f"Field {item.name!r} is one-of but has no choices to pick from.")
            if len(set(item.choices)) != len(item.choices):
                raise SchemaError(f"Field {item.name!r} lists a choice twice.")
        elif item.choices:
            raise SchemaError(f"Field {item.name!r} has choices but is not of type one-of.")


def fields_to_schema(fields: list[Field]) -> dict[str, Any]:
    """The JSON Schema of an object with one required property per field (no bounds yet)."""
    check_fields(fields)
    properties = {item.name: _property(item) for item in fields}
    return {
        "type": "object",
        "properties": properties,
        "required": [item.name for item in fields],
        "additionalProperties": False,
    }


def _property(item: Field) -> dict[str, Any]:
    shapes: dict[str, dict[str, Any]] = {
        "text": {"type": "string"},
        "number": {"type": "number"},
        "date": {"type": "string", "format": "date"},
        "yes/no": {"type": "boolean"},
        "list": {"type": "array", "items": {"type": "string"}},
        "one-of": {"type": "string", "enum": list(item.choices)},
    }
    prop = dict(shapes[item.type])
    if item.description:
        prop["description"] = item.description
    return prop


def schema_to_fields(schema: dict[str, Any]) -> list[Field]:
    """The field list a schema stands for; `SchemaError` if it has a shape fields cannot show."""
    check_schema(schema)
    if schema.get("type") != "object" or not isinstance(schema.get("properties"), dict):
        raise SchemaError(
            "Only an object schema with `properties` can be shown as fields; edit this one as "
            "JSON Schema."
        )
    return [_field(name, prop, ["properties", name]) for name, prop in schema["properties"].items()]


def _field(name: str, prop: dict[str, Any], path: list[Any]) -> Field:
    kind = prop.get("type")
    description = str(prop.get("description", ""))
    if kind == "string" and "enum" in prop:
        return Field(name, "one-of", description, tuple(str(c) for c in prop["enum"]))
    if kind == "string" and prop.get("format") == "date":
        return Field(name, "date", description)
    simple = {"string": "text", "number": "number", "integer": "number", "boolean": "yes/no"}
    if isinstance(kind, str) and kind in simple:
        return Field(name, simple[kind], description)
    items = prop.get("items")
    if kind == "array" and isinstance(items, dict) and items.get("type") == "string":
        return Field(name, "list", description)
    raise SchemaError(
        f"At {where(path)}: this property is not one of the field types "
        f"({', '.join(FIELD_TYPES)}); edit the schema as JSON Schema instead."
    )


def fields_to_json(fields: list[Field]) -> str:
    """The field-list file the editor saves."""
    check_fields(fields)
    items = []
    for item in fields:
        entry: dict[str, Any] = {"name": item.name, "type": item.type}
        if item.description:
            entry["description"] = item.description
        if item.choices:
            entry["choices"] = list(item.choices)
        items.append(entry)
    body = {"format": FIELDS_FORMAT, "version": FIELDS_VERSION, "fields": items}
    return json.dumps(body, ensure_ascii=False, indent=2) + "\n"


def fields_from_json(body: dict[str, Any]) -> list[Field]:
    """Read a decoded field-list file; raise `SchemaError` with a sentence if it is wrong."""
    version = body.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise SchemaError("The field list has no version number.")
    if is_newer(version, FIELDS_VERSION):
        raise SchemaError(
            newer_version_sentence("The field list", version, FIELDS_VERSION, "version")
        )
    raw = body.get("fields")
    if not isinstance(raw, list):
        raise SchemaError("The field list has no `fields` list.")
    fields = []
    for number, entry in enumerate(raw, start=1):
        if not isinstance(entry, dict):
            raise SchemaError(f"Field {number} must be an object with `name` and `type`.")
        choices = entry.get("choices", [])
        if not isinstance(choices, list) or not all(isinstance(c, str) for c in choices):
            raise SchemaError(f"Field {number}'s `choices` must be a list of text.")
        name, kind, description = entry.get("name"), entry.get("type"), entry.get("description")
        if not isinstance(name, str) or not isinstance(kind, str):
            raise SchemaError(f"Field {number} needs a `name` and a `type`, both text.")
        if description is not None and not isinstance(description, str):
            raise SchemaError(f"Field {name!r}'s description must be text.")
        fields.append(Field(name, kind, description or "", tuple(choices)))
    check_fields(fields)
    return fields
