"""The window's conversation data: what is sent to the worker and what storage would save."""

from __future__ import annotations

import pytest

from app.ui.transcript.conversation import Conversation, Message, Role, Status
from app.workers import protocol as p


def test_turns_leave_out_failed_streaming_and_empty_answers() -> None:
    chat = Conversation()
    chat.add(Message(Role.USER, "first", ["/a.png"]))
    chat.add(Message(Role.ASSISTANT, "partial", status=Status.STOPPED))
    chat.add(Message(Role.USER, "second"))
    chat.add(Message(Role.ASSISTANT, "broken", status=Status.ERROR))
    chat.add(Message(Role.USER, "third"))
    chat.add(Message(Role.ASSISTANT, "", status=Status.STREAMING))
    assert chat.turns("Be brief.") == [
        p.ChatTurn("system", "Be brief."),
        p.ChatTurn("user", "first", ["/a.png"]),
        p.ChatTurn("assistant", "partial"),
        p.ChatTurn("user", "second"),
        p.ChatTurn("user", "third"),
    ]
    assert chat.title == "first"
    assert chat.image_count() == 1


def test_truncate_and_round_trip() -> None:
    chat = Conversation()
    first = chat.add(Message(Role.USER, "q", ["/x.png"]))
    answer = chat.add(Message(Role.ASSISTANT, "a"))
    assert chat.index_of(answer.id) == 1
    again = Conversation.from_dict(chat.to_dict())
    assert again == chat
    dropped = chat.truncate(1)
    assert dropped == [answer] and chat.messages == [first]


def test_a_newer_format_is_refused() -> None:
    data = Conversation().to_dict()
    data["format_version"] = 99
    with pytest.raises(ValueError, match="newer"):
        Conversation.from_dict(data)
