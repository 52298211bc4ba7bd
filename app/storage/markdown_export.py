"""A conversation as a folder: ``conversation.md`` plus ``images/`` with its pictures."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from app.storage.atomic import commit_staging_folder, new_staging_folder
from app.storage.errors import StorageError, describe_os_error
from app.storage.export_labels import (
    display_title,
    message_heading,
    other_versions_line,
    readable_time,
    tool_call_lines,
    tool_turn_heading,
)
from app.storage.json_export import read_stored_image
from app.storage.records import ToolTurn
from app.storage.store import ConversationStore

MARKDOWN_NAME = "conversation.md"


def _alt_text(name: str) -> str:
    return "".join(" " if c in "[]\\\n\r" else c for c in name)


def markdown_text(store: ConversationStore, conversation_id: int) -> tuple[str, dict[str, bytes]]:
    """The Markdown text and the images it links to (file name inside images/ -> bytes)."""
    conversation = store.load_conversation(conversation_id)
    files: dict[str, bytes] = {}
    lines = [
        f"# {display_title(conversation.title)}",
        "",
        f"*Exported from Maverick Desk. Started {readable_time(conversation.created)}, "
        f"{len(conversation.messages)} messages.*",
        "",
    ]
    if conversation.other_versions:
        lines += [f"*{other_versions_line(conversation.other_versions)}*", ""]
    for message in conversation.messages:
        lines += [f"## {message_heading(message)}", ""]
        for turn in message.tool_turns:  # the tools came before the answer's prose
            lines += _tool_turn_lines(store, turn, files)
        lines += [message.text, ""]
        for a in message.attachments:
            file_name = a.path.name  # <sha256>.<ext>: never the untrusted original name
            if file_name not in files:
                files[file_name] = read_stored_image(store, a.sha256, a.mime)
            lines += [f"![{_alt_text(a.name)}](images/{file_name})", ""]
    return "\n".join(lines).rstrip("\n") + "\n", files


def _fenced(text: str, info: str = "") -> list[str]:
    """A code fence longer than any run of backticks in `text`, so nothing escapes it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}{info}", text, fence, ""]


def _tool_turn_lines(
    store: ConversationStore, turn: ToolTurn, files: dict[str, bytes]
) -> list[str]:
    lines = [f"**{tool_turn_heading(turn)}**", ""]
    if turn.role == "assistant":
        if turn.text.strip():
            lines += [turn.text, ""]
        return lines + _fenced("\n".join(tool_call_lines(turn)))
    if turn.text:
        lines += _fenced(turn.text)
    for a in turn.images:
        if a.path.name not in files:
            files[a.path.name] = read_stored_image(store, a.sha256, a.mime)
        lines += [f"![{_alt_text(a.name)}](images/{a.path.name})", ""]
    return lines


def export_markdown(store: ConversationStore, conversation_id: int, out: Path) -> Path:
    """Write the folder `out` (new, or empty) in one rename; returns the .md file's path."""
    out = Path(out)
    text, files = markdown_text(store, conversation_id)
    action = "write the Markdown export"
    staging = new_staging_folder(out, action)
    try:
        (staging / "images").mkdir()
        for name, data in files.items():
            (staging / "images" / name).write_bytes(data)
        (staging / MARKDOWN_NAME).write_text(text, encoding="utf-8")
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise describe_os_error(exc, action, out) from exc
    except StorageError:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    commit_staging_folder(staging, out, action)
    return out / MARKDOWN_NAME
