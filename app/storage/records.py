"""What storage hands out: plain frozen dataclasses, no database handles."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any


class Role(StrEnum):
    """Who wrote a message. The values are stored on disk: never change or reuse one."""

    USER = "user"
    ASSISTANT = "assistant"


class MessageStatus(StrEnum):
    """Where a message stands. Stored on disk: never change or reuse a value."""

    COMPLETE = "complete"
    STREAMING = "streaming"  # being written right now
    INTERRUPTED = "interrupted"  # the app stopped while it streamed (found on reopen)
    STOPPED = "stopped"  # the user pressed Stop
    ERROR = "error"  # generation failed


FINISHED_STATUSES = frozenset({MessageStatus.COMPLETE, MessageStatus.STOPPED, MessageStatus.ERROR})


@dataclass(frozen=True)
class Attachment:
    """An image stored in the content-addressed store; `path` exists while the row does."""

    sha256: str
    name: str  # the original file name, for display only
    mime: str
    width: int
    height: int
    bytes: int
    path: Path


@dataclass(frozen=True)
class Message:
    """One message of a conversation, in order of `position` (0, 1, 2, …)."""

    id: int
    conversation_id: int
    position: int
    role: Role
    text: str
    status: MessageStatus
    created: str
    updated: str
    stats: dict[str, Any] = field(default_factory=dict)
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True)
class ConversationSummary:
    """A row of the sidebar: enough to list, without messages."""

    id: int
    title: str
    created: str
    updated: str
    deleted_at: str | None
    message_count: int


@dataclass(frozen=True)
class Conversation:
    """A conversation with every message and attachment, as loaded for the window."""

    id: int
    title: str
    created: str
    updated: str
    deleted_at: str | None
    settings: dict[str, Any]
    messages: tuple[Message, ...]

    def image_paths(self) -> list[Path]:
        """Every stored image of the conversation in order, to send again as context."""
        return [a.path for m in self.messages for a in m.attachments]


@dataclass(frozen=True)
class SearchHit:
    """A message matching a search. `snippet` marks matches with HIT_START / HIT_END."""

    conversation_id: int
    message_id: int
    conversation_title: str
    role: Role
    snippet: str
    created: str
