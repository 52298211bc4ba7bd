"""Cheap bounds on one generation request, checked before anything is tokenised.

Tokenising is the first expensive step: a 20 MiB message took the demo's worker 17.7 s
and 3.3 GB that it kept afterwards, only to be refused for its length. A text that long
cannot fit the context anyway: no tokenizer packs more than a few characters into a
token of real text (Llama's average about four), so past `MAX_CHARS_PER_TOKEN` characters
a token of context the request is refused at once, by its character count. The worker
checks this for every client; the local API checks it too, before images are decoded.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# Characters one token of context may stand for, for the purpose of refusing early:
# generous (pathological runs of spaces or punctuation aside, text averages 3 to 5).
MAX_CHARS_PER_TOKEN = 10


def char_limit(context_length: int) -> int:
    """The most characters a request may hold for a model of `context_length` (0: none)."""
    return max(0, context_length) * MAX_CHARS_PER_TOKEN


def json_chars(value: Any) -> int:
    """The characters of the strings (keys too) inside a decoded JSON value, iteratively."""
    total = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item)
        elif isinstance(item, dict):
            total += sum(len(key) for key in item if isinstance(key, str))
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return total


def size_problem(
    texts: Iterable[str],
    structured: Iterable[Any],
    max_new_tokens: int | None,
    context_length: int,
) -> str | None:
    """Why a request of these texts (and tool definitions and calls) cannot fit, or None.

    `max_new_tokens` None means the model's default; a `context_length` of 0 (unknown)
    bounds nothing.
    """
    return new_tokens_problem(max_new_tokens, context_length) or chars_problem(
        texts, structured, context_length
    )


def new_tokens_problem(max_new_tokens: int | None, context_length: int) -> str | None:
    """Why `max_new_tokens` cannot fit the context (the prompt needs a token too), or None."""
    if not context_length or max_new_tokens is None or max_new_tokens < context_length:
        return None
    return (
        f"{max_new_tokens:,} new tokens were asked for, but the model's context holds "
        f"{context_length:,} tokens in all, prompt included. Ask for fewer new tokens."
    )


def chars_problem(
    texts: Iterable[str], structured: Iterable[Any], context_length: int
) -> str | None:
    """Why texts (and JSON values) of this many characters cannot fit the context, or None."""
    if not context_length:
        return None
    chars = sum(len(text) for text in texts) + sum(json_chars(value) for value in structured)
    limit = char_limit(context_length)
    if chars <= limit:
        return None
    return (
        f"The request holds {chars:,} characters of text; the model's context of "
        f"{context_length:,} tokens cannot hold more than about {limit:,}. Send less "
        "text, or split it over several requests."
    )
