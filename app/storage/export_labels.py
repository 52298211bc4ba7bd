"""Words shared by the Markdown and HTML exports."""

from __future__ import annotations

import json

from app.storage.records import Message, MessageStatus, Role, ToolTurn

ROLE_LABELS = {Role.USER: "You", Role.ASSISTANT: "Maverick"}
STATUS_NOTES = {
    MessageStatus.COMPLETE: "",
    MessageStatus.STREAMING: "being written",
    MessageStatus.INTERRUPTED: "interrupted",
    MessageStatus.STOPPED: "stopped",
    MessageStatus.ERROR: "failed",
}


def readable_time(stamp: str) -> str:
    """'2025-01-31T12:00:00.123456Z' -> '2025-01-31 12:00 UTC'."""
    return f"{stamp[:10]} {stamp[11:16]} UTC"


def message_heading(message: Message) -> str:
    note = STATUS_NOTES[message.status]
    heading = f"{ROLE_LABELS[message.role]} · {readable_time(message.created)}"
    if message.version_count > 1:
        heading += f" · version {message.version} of {message.version_count}"
    return f"{heading} ({note})" if note else heading


def other_versions_line(count: int) -> str:
    """The sentence under the title when Regenerate or Edit made versions not exported."""
    if count == 0:
        return ""
    versions = "1 other version" if count == 1 else f"{count} other versions"
    verb = "is" if count == 1 else "are"
    return (
        f"This export shows the versions that were shown; {versions} (from Regenerate or "
        f"Edit) {verb} kept in Maverick Desk and in its JSON export."
    )


def display_title(title: str) -> str:
    return title or "Untitled conversation"


DECISION_NOTES = {
    "run": "run once, approved",
    "always": "run, tool always allowed from then on",
    "policy": "run by the tool's policy",
    "deny": "denied",
    "": "",
}


def tool_turn_heading(turn: ToolTurn) -> str:
    """'Tool calls' for the model's calls; 'Result of read_file (error; denied: …)' for results."""
    if turn.role == "assistant":
        return "Tool calls"
    where = f"{turn.server} · {turn.tool_name}" if turn.server else turn.tool_name
    notes = [
        note
        for note in ("error" if turn.is_error else "", DECISION_NOTES.get(turn.decision, ""))
        if note
    ]
    if turn.decision == "deny" and turn.reason.strip():
        notes[-1] += f": {turn.reason.strip()}"
    return f"Result of {where}" + (f" ({'; '.join(notes)})" if notes else "")


def tool_call_lines(turn: ToolTurn) -> list[str]:
    """Each call of a model's tool turn as `name({...arguments})`."""
    return [
        f"{call.get('name', '')}({json.dumps(call.get('arguments', {}), ensure_ascii=False)})"
        for call in turn.tool_calls
    ]
