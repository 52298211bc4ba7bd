"""Bounds that make every structured answer finish, and the token budget that covers them.

A grammar makes an answer *valid*; only bounds make it *end*. Every string gets a
`maxLength`, every list a `maxItems`, every number a `minimum` and a `maximum`: the
schema's own where it has them, else the `Defaults` below, which the README states.
With the bounds in place the longest answer the grammar allows is known, and the token
budget is set to cover it: every token the grammar accepts adds at least one byte, so
the answer's most bytes, plus the end-of-answer token, is enough.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

from app.structured.schema import SchemaError, check_schema, resolve, where

# JSON's separators as the grammar writes them (`", "` and `": "`), and a little slack for
# the end-of-answer token and the layout around the top level.
_SEPARATOR = 2
_SLACK = 8
# Digits after the decimal point that a bounded number may have. The grammar engine
# allows 6; the budget allows more, so that a different engine cannot overrun it.
FRACTION_DIGITS = 16
DATE_CHARS = 10  # YYYY-MM-DD
UTF8_MAX = 4  # bytes per character


@dataclass(frozen=True)
class Defaults:
    """The bounds a schema gets where it states none (shown in the README and `--help`)."""

    text_chars: int = 200  # maxLength of a string
    list_items: int = 20  # maxItems of a list
    number_min: float = -1_000_000_000
    number_max: float = 1_000_000_000
    max_budget: int = 32_768  # the most tokens one answer may be given

    def describe(self) -> str:
        return (
            f"text up to {self.text_chars} characters, lists up to {self.list_items} entries, "
            f"numbers from {self.number_min:,.0f} to {self.number_max:,.0f}"
        )


DEFAULTS = Defaults()


def bounded(schema: dict[str, Any], defaults: Defaults = DEFAULTS) -> dict[str, Any]:
    """A copy of a checked `schema` with a bound on every string, list, number and object."""
    out = copy.deepcopy(schema)
    _bound(out, defaults)
    for key in ("$defs", "definitions"):
        for sub in (out.get(key) or {}).values():
            _bound(sub, defaults)
    return out


def _bound(node: Any, defaults: Defaults) -> None:
    if not isinstance(node, dict) or "$ref" in node:
        return
    kinds = _types(node)
    if "string" in kinds and "enum" not in node and "format" not in node:
        node.setdefault("maxLength", defaults.text_chars)
    if "array" in kinds:
        node.setdefault("maxItems", defaults.list_items)
    if kinds & {"number", "integer"}:
        if "minimum" not in node and "exclusiveMinimum" not in node:
            node["minimum"] = _whole(defaults.number_min, kinds)
        if "maximum" not in node and "exclusiveMaximum" not in node:
            node["maximum"] = _whole(defaults.number_max, kinds)
    if "object" in kinds or "properties" in node:
        node.setdefault("additionalProperties", False)
    for sub in (node.get("properties") or {}).values():
        _bound(sub, defaults)
    if isinstance(node.get("items"), dict):
        _bound(node["items"], defaults)
    for key in ("anyOf", "oneOf"):
        for sub in node.get(key) or []:
            _bound(sub, defaults)


def _whole(value: float, kinds: set[str]) -> float | int:
    return int(value) if "number" not in kinds else value


def token_budget(schema: dict[str, Any], defaults: Defaults = DEFAULTS) -> int:
    """The most tokens an answer to the bounded `schema` can take; `SchemaError` if too many."""
    budget = _most_bytes(schema, schema, [], ()) + _SLACK
    if budget > defaults.max_budget:
        raise SchemaError(
            f"An answer to this schema could take {budget:,} tokens, more than the "
            f"{defaults.max_budget:,} one answer may have; lower some `maxLength` or `maxItems`."
        )
    return budget


def _most_bytes(node: Any, root: dict[str, Any], path: list[Any], refs: tuple[str, ...]) -> int:
    """The longest JSON text (in UTF-8 bytes) the grammar lets `node` be written as."""
    if not isinstance(node, dict):
        raise SchemaError(f"At {where(path)}: a schema must be an object.")
    if "$ref" in node:
        ref = str(node["$ref"])
        if ref in refs:
            raise SchemaError(f"At {where(path)}: the reference {ref!r} refers to itself.")
        return _most_bytes(resolve(ref, root, path), root, path, (*refs, ref))
    if "const" in node:
        return _json_bytes(node["const"])
    if "enum" in node:
        return max((_json_bytes(value) for value in node["enum"]), default=4)
    alternatives = node.get("anyOf") or node.get("oneOf")
    if alternatives:
        return max(
            _most_bytes(sub, root, [*path, "anyOf", i], refs) for i, sub in enumerate(alternatives)
        )
    kinds = _types(node)
    if not kinds:
        raise SchemaError(f"At {where(path)}: no `type`, `enum` or `const` is given.")
    return max(_most_bytes_of_type(kind, node, root, path, refs) for kind in kinds)


def _most_bytes_of_type(
    kind: str, node: dict[str, Any], root: dict[str, Any], path: list[Any], refs: tuple[str, ...]
) -> int:
    if kind == "string":
        if node.get("format") == "date":
            return DATE_CHARS + 2
        return 2 + UTF8_MAX * _bound_of(node, "maxLength", path)
    if kind in ("number", "integer"):
        low = node.get("minimum", node.get("exclusiveMinimum"))
        high = node.get("maximum", node.get("exclusiveMaximum"))
        if low is None or high is None:
            raise SchemaError(f"At {where(path)}: a number needs a minimum and a maximum.")
        digits = max(len(str(int(abs(low)))), len(str(int(abs(high)))))
        return 1 + digits + (1 + FRACTION_DIGITS if kind == "number" else 0)
    if kind == "boolean":
        return 5
    if kind == "null":
        return 4
    if kind == "array":
        count = _bound_of(node, "maxItems", path)
        item = _most_bytes(node.get("items", {}), root, [*path, "items"], refs)
        return 2 + count * (item + _SEPARATOR)
    if kind == "object":
        total = 2
        for name, sub in (node.get("properties") or {}).items():
            inner = _most_bytes(sub, root, [*path, "properties", name], refs)
            total += _json_bytes(name) + _SEPARATOR + inner + _SEPARATOR
        return total
    raise SchemaError(f"At {where([*path, 'type'])}: {kind!r} is not a JSON type.")


def _bound_of(node: dict[str, Any], keyword: str, path: list[Any]) -> int:
    value = node.get(keyword)
    if not isinstance(value, int) or isinstance(value, bool):
        raise SchemaError(f"At {where(path)}: `{keyword}` is missing; bound the schema first.")
    return value


def _json_bytes(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(", ", ": ")).encode("utf-8"))


def _types(node: dict[str, Any]) -> set[str]:
    kind = node.get("type")
    if isinstance(kind, list):
        return {str(k) for k in kind}
    return {str(kind)} if kind is not None else set()


def prepare(schema: Any, defaults: Defaults = DEFAULTS) -> tuple[dict[str, Any], int]:
    """Check a schema, bound it and compute its budget: ``(bounded schema, budget)``."""
    checked = check_schema(schema)
    out = bounded(checked, defaults)
    return out, token_budget(out, defaults)
