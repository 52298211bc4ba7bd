"""The window's conversation: the chat room's plain data, named where the views look for it."""

from __future__ import annotations

from app.chat.conversation import (
    Conversation,
    DocumentRef,
    Message,
    Role,
    Status,
    answer_figures,
)

__all__ = ["Conversation", "DocumentRef", "Message", "Role", "Status", "answer_figures"]
