"""Checking a JSON Schema a person pasted, with a sentence that says where it is wrong.

Two checks: that it is valid JSON Schema at all (the `jsonschema` library's meta-schema),
and that it stays within what a *bounded* answer can be made of: every value has a type,
an enum or a const, so that its length can be bounded (`app.structured.bounds`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# Keywords whose answers no bound can cover, or that the grammar engine cannot enforce.
UNSUPPORTED = {
    "pattern": "a `pattern` cannot be given a length bound; use `enum` or `format: date`",
    "patternProperties": "properties named by pattern cannot be bounded; name each property",
    "allOf": "`allOf` is not supported; merge the schemas into one",
    "not": "`not` is not supported",
    "if": "`if`/`then`/`else` is not supported",
    "prefixItems": "`prefixItems` is not supported; use `items`",
    "dependentSchemas": "`dependentSchemas` is not supported",
}
SUPPORTED_FORMATS = ("date",)
_JSON_KINDS = {"list": "list", "str": "string", "int": "number", "float": "number",
               "bool": "true/false value", "NoneType": "null"}  # fmt: skip
TYPES = ("object", "array", "string", "number", "integer", "boolean", "null")


class SchemaError(ValueError):
    """A schema that cannot be used; the message is a sentence for the person."""


def where(path: Iterable[Any]) -> str:
    """A place in a JSON document, as a person reads it: ``properties → age → type``."""
    parts = [str(part) for part in path]
    return " → ".join(parts) if parts else "the top level"


def check_schema(schema: Any) -> dict[str, Any]:
    """Return `schema` if it is valid JSON Schema that can be bounded; else raise `SchemaError`."""
    import jsonschema

    if not isinstance(schema, dict):
        kind = _JSON_KINDS.get(type(schema).__name__, type(schema).__name__)
        raise SchemaError(f"A JSON Schema must be a JSON object; this one is a {kind}.")
    validator = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    error = jsonschema.exceptions.best_match(validator(validator.META_SCHEMA).iter_errors(schema))
    if error is not None:
        raise SchemaError(
            f"The schema is not valid JSON Schema at {where(error.absolute_path)}: {error.message}."
        )
    _check_node(schema, [], schema, set())
    return schema


def resolve(ref: str, root: dict[str, Any], path: list[Any]) -> dict[str, Any]:
    """The subschema a local ``$ref`` (``#/$defs/Name``) points at."""
    if not ref.startswith("#/"):
        raise SchemaError(
            f"At {where(path)}: only references inside the schema (#/$defs/…) are supported; "
            f"got {ref!r}."
        )
    node: Any = root
    for part in ref[2:].split("/"):
        key = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or key not in node:
            raise SchemaError(f"At {where(path)}: the reference {ref!r} points at nothing.")
        node = node[key]
    if not isinstance(node, dict):
        raise SchemaError(f"At {where(path)}: the reference {ref!r} is not a schema.")
    return node


def _check_node(node: Any, path: list[Any], root: dict[str, Any], refs: set[str]) -> None:
    if not isinstance(node, dict):
        if node is True:
            raise SchemaError(
                f"At {where(path)}: `true` allows any value, so its length cannot be bounded; "
                "give it a type."
            )
        return
    for keyword, why in UNSUPPORTED.items():
        if keyword in node:
            raise SchemaError(f"At {where([*path, keyword])}: {why}.")
    if "$ref" in node:
        ref = str(node["$ref"])
        if ref in refs:
            raise SchemaError(
                f"At {where(path)}: the reference {ref!r} refers to itself, so an answer could "
                "nest without end and no bound can cover it."
            )
        _check_node(resolve(ref, root, path), path, root, refs | {ref})
        return
    fmt = node.get("format")
    if fmt is not None and fmt not in SUPPORTED_FORMATS:
        raise SchemaError(
            f"At {where([*path, 'format'])}: the format {fmt!r} is not supported; "
            f"supported: {', '.join(SUPPORTED_FORMATS)} (or leave `format` out)."
        )
    alternatives = node.get("anyOf") or node.get("oneOf")
    if "enum" not in node and "const" not in node and not alternatives and "type" not in node:
        raise SchemaError(
            f"At {where(path)}: no `type`, `enum` or `const` is given, so the answer there could "
            "be anything of any length; give it a type."
        )
    extra = node.get("additionalProperties")
    if extra is not None and extra is not False:
        raise SchemaError(
            f"At {where([*path, 'additionalProperties'])}: extra properties cannot be bounded; "
            "name every property and set `additionalProperties` to false (or leave it out)."
        )
    for key in ("anyOf", "oneOf"):
        for i, sub in enumerate(node.get(key) or []):
            _check_node(sub, [*path, key, i], root, refs)
    for name, sub in (node.get("properties") or {}).items():
        _check_node(sub, [*path, "properties", name], root, refs)
    if "items" in node:
        _check_node(node["items"], [*path, "items"], root, refs)
    elif _types(node) & {"array"}:
        raise SchemaError(f"At {where(path)}: a list needs `items`, the schema of its entries.")


def _types(node: dict[str, Any]) -> set[str]:
    kind = node.get("type")
    if isinstance(kind, list):
        return {str(k) for k in kind}
    return {str(kind)} if kind is not None else set()
