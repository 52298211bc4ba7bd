"""How deeply a decoded JSON value nests, found without recursion.

Python's own JSON, `dataclasses.asdict` and the chat template all recurse once per level,
so a value nested a few hundred levels deep (a hostile tool schema) raises RecursionError
where it is copied or written. Whoever takes such values from outside checks them here
first, and refuses them with the field's name.
"""

from __future__ import annotations

from typing import Any

# Deeper than any real tool schema or call (each nested object property is two levels),
# far below where Python's recursion limit of 1,000 is reached.
MAX_JSON_DEPTH = 64


def deeper_than(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """True if lists and dicts in `value` nest more than `limit` levels (``{}`` is one)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend(
            (child, depth + 1) for child in children if isinstance(child, dict | list | tuple)
        )
    return False


def depth_sentence(where: str, limit: int = MAX_JSON_DEPTH) -> str:
    """The refusal of a value too deep, naming its field."""
    return f"`{where}` is nested more than {limit} levels deep; send a flatter value."
