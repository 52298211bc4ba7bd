"""Between the window's plain-data conversation and the saved one (no Qt here).

The window keeps `app.ui.transcript.conversation.Conversation`; storage hands out
`app.storage.Conversation`. A reopened conversation shows its images from the image
store, so they can be sent to the model again after the originals moved or vanished.
"""

from __future__ import annotations

from app import storage
from app.storage.records import StoredDocument
from app.storage.tool_turns import turn_dict
from app.ui.transcript.conversation import Conversation, DocumentRef, Message, Role, Status

WINDOW_STATUS = {
    storage.MessageStatus.COMPLETE: Status.COMPLETE,
    # 'streaming' in a database this window did not write means another process died or
    # is still writing; the window cannot continue it either way.
    storage.MessageStatus.STREAMING: Status.INTERRUPTED,
    storage.MessageStatus.INTERRUPTED: Status.INTERRUPTED,
    storage.MessageStatus.STOPPED: Status.STOPPED,
    storage.MessageStatus.ERROR: Status.ERROR,
}
STORED_STATUS = {
    Status.COMPLETE: storage.MessageStatus.COMPLETE,
    Status.STREAMING: storage.MessageStatus.STREAMING,
    Status.INTERRUPTED: storage.MessageStatus.INTERRUPTED,
    Status.STOPPED: storage.MessageStatus.STOPPED,
    Status.ERROR: storage.MessageStatus.ERROR,
}


def window_message(stored: storage.Message) -> Message:
    role = Role.USER if stored.role is storage.Role.USER else Role.ASSISTANT
    return Message(
        role,
        stored.text,
        [str(attachment.path) for attachment in stored.attachments],
        status=WINDOW_STATUS[stored.status],
        stats=dict(stored.stats),
        version=stored.version,
        version_count=stored.version_count,
        tool_turns=[turn_dict(turn, lambda a: str(a.path)) for turn in stored.tool_turns],
    )


def window_conversation(
    stored: storage.Conversation, documents: list[StoredDocument] | None = None
) -> tuple[Conversation, list[int]]:
    """The window's form of a saved conversation, and the stored id of each message."""
    conversation = Conversation(
        title=stored.title,
        documents=[DocumentRef(d.sha256, d.name, str(d.path)) for d in documents or []],
    )
    ids: list[int] = []
    for message in stored.messages:
        conversation.messages.append(window_message(message))
        ids.append(message.id)
    return conversation, ids
