"""Words shared by the Markdown and HTML exports."""

from __future__ import annotations

from app.storage.records import Message, MessageStatus, Role

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
