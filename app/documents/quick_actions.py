"""Quick actions: editable prompts for document and chart work.

They live in `quick_actions.json` in the data directory, written atomically with a
format version. A file from a newer version of the app is refused, never altered; a
missing file means the defaults.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from app.paths import data_dir
from app.storage.atomic import atomic_write_text
from app.storage.versioned import is_newer, newer_version_sentence

FILE_NAME = "quick_actions.json"
FILE_FORMAT = "maverick-desk.quick-actions"
FILE_VERSION = 1
MAX_ACTIONS = 24
MAX_TITLE_CHARS = 40
MAX_PROMPT_CHARS = 4000


class QuickActionError(ValueError):
    """Quick actions that cannot be read or saved, with a message for the user."""


@dataclass(frozen=True)
class QuickAction:
    """A button in the composer: `title` on the button, `prompt` put in the composer."""

    title: str
    prompt: str


DEFAULT_QUICK_ACTIONS: tuple[QuickAction, ...] = (
    QuickAction(
        "Extract the table as CSV",
        "Extract the table in this image as CSV. Put the CSV in a ```csv code block, with "
        "a header row, one row per line, and the numbers exactly as they appear.",
    ),
    QuickAction(
        "Summarise this page",
        "Summarise this page in a few bullet points: its subject, the key facts and figures, "
        "and any conclusion.",
    ),
    QuickAction(
        "Describe this chart",
        "Describe this chart: its type, what the axes and series show (with units), the main "
        "trend, and the highest and lowest values.",
    ),
    QuickAction(
        "Transcribe the text",
        "Transcribe all the text in this image exactly as written, keeping the reading order, "
        "headings and line breaks. Do not summarise.",
    ),
)


def quick_actions_path() -> Path:
    return data_dir() / FILE_NAME


def load_quick_actions(path: Path | None = None) -> list[QuickAction]:
    """The saved quick actions, or the defaults if none were saved."""
    path = path or quick_actions_path()
    if not path.exists():
        return list(DEFAULT_QUICK_ACTIONS)
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise QuickActionError(
            f"The quick actions in {path} cannot be read ({exc}). Fix or delete the file to "
            "get the defaults back."
        ) from exc
    if not isinstance(body, dict) or body.get("format") != FILE_FORMAT:
        raise QuickActionError(f"{path} is not a Maverick Desk quick actions file.")
    version = body.get("version")
    if not isinstance(version, int) or is_newer(version, FILE_VERSION):
        raise QuickActionError(newer_version_sentence(path, version, FILE_VERSION, "format"))
    actions = body.get("actions")
    if not isinstance(actions, list):
        raise QuickActionError(f"{path} has no list of actions.")
    result = []
    for entry in actions:
        if not isinstance(entry, dict):
            raise QuickActionError(f"{path} has an action that is not an object.")
        result.append(QuickAction(str(entry.get("title", "")), str(entry.get("prompt", ""))))
    validate_quick_actions(result)
    return result


def save_quick_actions(actions: Sequence[QuickAction], path: Path | None = None) -> None:
    """Check and save the quick actions; raise `QuickActionError` or `StorageError`."""
    validate_quick_actions(actions)
    body = {
        "format": FILE_FORMAT,
        "version": FILE_VERSION,
        "actions": [{"title": a.title, "prompt": a.prompt} for a in actions],
    }
    text = json.dumps(body, ensure_ascii=False, indent=2) + "\n"
    atomic_write_text(path or quick_actions_path(), text, "save the quick actions")


def reset_quick_actions(path: Path | None = None) -> list[QuickAction]:
    """Go back to the defaults (the saved file is removed)."""
    (path or quick_actions_path()).unlink(missing_ok=True)
    return list(DEFAULT_QUICK_ACTIONS)


def validate_quick_actions(actions: Sequence[QuickAction]) -> None:
    """Raise `QuickActionError` naming the first action that cannot be used."""
    if len(actions) > MAX_ACTIONS:
        raise QuickActionError(f"{len(actions)} quick actions; at most {MAX_ACTIONS} fit.")
    titles: set[str] = set()
    for number, action in enumerate(actions, 1):
        title = action.title.strip()
        if not title:
            raise QuickActionError(f"Quick action {number} has no title.")
        if len(title) > MAX_TITLE_CHARS:
            raise QuickActionError(
                f'The title "{title[:20]}…" is longer than {MAX_TITLE_CHARS} characters.'
            )
        if not action.prompt.strip():
            raise QuickActionError(f'Quick action "{title}" has an empty prompt.')
        if len(action.prompt) > MAX_PROMPT_CHARS:
            raise QuickActionError(
                f'The prompt of "{title}" is longer than {MAX_PROMPT_CHARS} characters.'
            )
        if title.casefold() in titles:
            raise QuickActionError(f'Two quick actions are called "{title}".')
        titles.add(title.casefold())
