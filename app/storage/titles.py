"""A conversation's default title, made from its first question."""

from __future__ import annotations

TITLE_LENGTH = 60
MAX_TITLE_LENGTH = 500


def title_from_question(text: str, image_names: list[str] | tuple[str, ...] = ()) -> str:
    """The question on one line, cut at a word near 60 characters, with an ellipsis."""
    line = " ".join(text.split())
    if not line:
        return f"Image: {image_names[0]}" if image_names else ""
    if len(line) <= TITLE_LENGTH:
        return line
    cut = line[: TITLE_LENGTH - 1]
    space = cut.rfind(" ")
    if space >= TITLE_LENGTH // 2:
        cut = cut[:space]
    return cut.rstrip(" ,.;:-") + "…"


def clean_title(title: str) -> str:
    """A title as typed by the user, on one line; empty means "untitled"."""
    return " ".join(title.split())[:MAX_TITLE_LENGTH]
