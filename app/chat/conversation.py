"""A conversation as plain data: messages with role, text, images and status.

The messages a chat shows, oldest first (one version of each fork); `ChatSession` owns
one. No Qt here, so that storage can save and load it and tests can check it without a
window. `to_dict`/`from_dict` give the JSON-ready form with a format version.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from app.chat.vocabulary import DocumentRef, Role, Status, answer_figures
from app.storage.versioned import is_newer, newer_version_sentence
from app.workers import protocol as p

__all__ = ["Conversation", "DocumentRef", "Message", "Role", "Status", "answer_figures"]

FORMAT_VERSION = 1


def _new_id() -> str:
    return uuid.uuid4().hex[:12]


@dataclass
class Message:
    """One message of a conversation."""

    role: Role
    text: str
    images: list[str] = field(default_factory=list)
    status: Status = Status.COMPLETE
    id: str = field(default_factory=_new_id)
    stats: dict[str, Any] = field(default_factory=dict)  # an answer's figures, when finished
    # Which version of its fork this is ("2 / 3"): Regenerate and Edit add versions; the
    # store keeps them all and the window shows one (docs/conversation-versions.md).
    version: int = 1
    version_count: int = 1
    # On an answer that used tools: its calls and their results, in order, each a dict
    # with app.storage.records.ToolTurn's fields and `images` as file paths (the store
    # copies them in). The answer's final prose is `text`.
    tool_turns: list[dict[str, Any]] = field(default_factory=list)

    def tool_images(self) -> list[str]:
        """The images this answer's tools returned, in order."""
        return [str(path) for turn in self._records() for path in turn.get("images", [])]

    def _records(self) -> list[dict[str, Any]]:
        # Only well-formed records: a damaged one is left out, not a failed request.
        return [t for t in self.tool_turns if isinstance(t, dict)]

    def context_turns(self) -> list[p.ChatTurn]:
        """The answer's tool calls and results as the model's earlier turns."""
        turns = []
        for turn in self._records():
            if turn.get("role") == "assistant":
                calls = [
                    {"id": c.get("id", ""), "name": c["name"], "arguments": c.get("arguments", {})}
                    for c in turn.get("tool_calls", [])
                    if isinstance(c, dict) and isinstance(c.get("name"), str)
                ]
                turns.append(p.ChatTurn("assistant", str(turn.get("text", "")), tool_calls=calls))
            else:
                turns.append(
                    p.ChatTurn(
                        "tool",
                        str(turn.get("text", "")),
                        [str(i) for i in turn.get("images", [])],
                        tool_call_id=str(turn.get("tool_call_id", "")),
                    )
                )
        return turns

    @property
    def version_label(self) -> str:
        """'2 / 3', or '' when the message has no other versions."""
        return f"{self.version} / {self.version_count}" if self.version_count > 1 else ""

    def next_version(
        self, text: str, images: list[str] | None = None, status: Status = Status.COMPLETE
    ) -> Message:
        """A new message beside this one, its newest version (Regenerate, Edit)."""
        count = self.version_count + 1
        return Message(
            self.role, text, list(images or []), status, version=count, version_count=count
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "role": self.role.value,
            "text": self.text,
            "images": list(self.images),
            "status": self.status.value,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Message:
        return cls(
            role=Role(data["role"]),
            text=str(data["text"]),
            images=[str(path) for path in data.get("images", [])],
            status=Status(data.get("status", Status.COMPLETE.value)),
            id=str(data.get("id") or _new_id()),
        )


@dataclass
class Conversation:
    """The messages of one chat, oldest first."""

    messages: list[Message] = field(default_factory=list)
    id: str = field(default_factory=_new_id)
    title: str = ""
    # The documents asked with each question (app.chat.documents.DocumentShelf keeps them
    # open while the conversation is shown); saved with it, cleared for a new one.
    documents: list[DocumentRef] = field(default_factory=list)

    def add(self, message: Message) -> Message:
        self.messages.append(message)
        if not self.title and message.role is Role.USER and message.text.strip():
            self.title = message.text.strip().splitlines()[0][:80]
        return message

    def index_of(self, message_id: str) -> int:
        for index, message in enumerate(self.messages):
            if message.id == message_id:
                return index
        raise KeyError(message_id)

    def truncate(self, index: int) -> list[Message]:
        """Drop the messages from `index` on; returns them."""
        dropped = self.messages[index:]
        del self.messages[index:]
        return dropped

    def image_count(self) -> int:
        """The images the model is sent: the user's and those earlier tools returned."""
        return sum(len(message.images) + len(message.tool_images()) for message in self.messages)

    def turns(self, system_prompt: str = "") -> list[p.ChatTurn]:
        """The conversation as the worker receives it.

        Failed answers and empty ones are left out; stopped answers stay (their text is
        what the user saw).
        """
        turns = [p.ChatTurn("system", system_prompt)] if system_prompt.strip() else []
        for message in self.messages:
            if message.role is Role.ASSISTANT and (
                message.status in (Status.ERROR, Status.STREAMING) or not message.text
            ):
                continue
            turns.extend(message.context_turns())
            turns.append(p.ChatTurn(message.role.value, message.text, list(message.images)))
        return turns

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "id": self.id,
            "title": self.title,
            "messages": [message.to_dict() for message in self.messages],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Conversation:
        version = data.get("format_version")
        if not isinstance(version, int) or is_newer(version, FORMAT_VERSION):
            where = "This conversation"
            raise ValueError(newer_version_sentence(where, version, FORMAT_VERSION, "format"))
        return cls(
            messages=[Message.from_dict(item) for item in data.get("messages", [])],
            id=str(data.get("id") or _new_id()),
            title=str(data.get("title", "")),
        )
