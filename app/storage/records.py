"""What storage hands out: plain frozen dataclasses, no database handles."""

from __future__ import annotations

import json
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
class StoredDocument:
    """A document a conversation has, kept in the data folder under its hash."""

    sha256: str
    name: str  # the original file name, for display (and citations)
    bytes: int
    path: Path  # the stored copy


@dataclass(frozen=True)
class ToolTurn:
    """A step of an answer that used tools: the model's calls, or one call's result.

    An "assistant" turn has the model's prose before its calls and `tool_calls`, each
    {"id", "name", "arguments"}; a "tool" turn answers the call `tool_call_id`: the
    result's text (or the error, `is_error`), the images the tool returned, and how the
    call was approved (`decision`: "run" once, "always" from then on, "policy" by a
    remembered policy, "deny" with the user's `reason`).
    """

    role: str  # "assistant" or "tool"
    text: str
    tool_calls: tuple[dict[str, Any], ...] = ()
    tool_call_id: str = ""
    tool_name: str = ""
    server: str = ""
    is_error: bool = False
    images: tuple[Attachment, ...] = ()
    decision: str = ""
    reason: str = ""

    def searchable_text(self) -> str:
        """What search finds of this turn: the calls' names and arguments, or the result."""
        if self.role == "assistant":
            calls = [
                f"{c.get('name', '')} {_arguments_text(c.get('arguments'))}"
                for c in self.tool_calls
            ]
            return "\n".join([self.text, *calls]).strip()
        return "\n".join(part for part in (self.tool_name, self.text, self.reason) if part)


def _arguments_text(arguments: Any) -> str:
    return json.dumps(arguments, ensure_ascii=False) if arguments else ""


@dataclass(frozen=True)
class Message:
    """One message of a conversation's tree.

    `position` is its depth (0 for a first question), which is its place in the shown
    path when it is shown. Messages with the same `parent_id` are versions of each
    other: this one is `version` (1 = the oldest) of `version_count`.
    """

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
    parent_id: int | None = None
    version: int = 1
    version_count: int = 1
    tool_turns: tuple[ToolTurn, ...] = ()  # an answer's tool calls and results, in order


@dataclass(frozen=True)
class ConversationSummary:
    """A row of the sidebar: enough to list, without messages."""

    id: int
    title: str
    created: str
    updated: str
    deleted_at: str | None
    message_count: int  # every version counted


@dataclass(frozen=True)
class Conversation:
    """A conversation as the window shows it: the shown path through its tree, in order.

    `other_versions` counts the versions not shown here and elsewhere in the tree (each
    Regenerate or Edit made one); `ConversationStore.load_tree` has them all.
    """

    id: int
    title: str
    created: str
    updated: str
    deleted_at: str | None
    settings: dict[str, Any]
    messages: tuple[Message, ...]
    other_versions: int = 0

    def image_paths(self) -> list[Path]:
        """Every stored image of the conversation in order, to send again as context."""
        return [a.path for m in self.messages for a in m.attachments]


@dataclass(frozen=True)
class ConversationTree:
    """Every message of a conversation and which ones are shown.

    `messages` are by depth, then oldest first: a parent always comes before its
    children, and versions (same parent) are oldest first.
    """

    conversation: Conversation  # with the shown path as its messages
    messages: tuple[Message, ...]
    # The version shown below each message that remembers one, hidden versions included.
    shown_child: dict[int, int] = field(default_factory=dict)

    @property
    def shown_ids(self) -> frozenset[int]:
        return frozenset(m.id for m in self.conversation.messages)

    def children(self, parent_id: int | None) -> tuple[Message, ...]:
        """The versions that follow `parent_id` (None: the first questions), oldest first."""
        return tuple(m for m in self.messages if m.parent_id == parent_id)


@dataclass(frozen=True)
class Siblings:
    """The versions of one message: their ids oldest first, and which one it is."""

    ids: tuple[int, ...]
    index: int  # 0-based place of the message asked about

    @property
    def count(self) -> int:
        return len(self.ids)

    @property
    def label(self) -> str:
        """'2 / 3', as the window shows it."""
        return f"{self.index + 1} / {self.count}"


@dataclass(frozen=True)
class SearchHit:
    """A message matching a search. `snippet` marks matches with HIT_START / HIT_END."""

    conversation_id: int
    message_id: int
    conversation_title: str
    role: Role
    snippet: str
    created: str
    shown: bool = True  # False: the hit is in a version not shown (see show_message)
