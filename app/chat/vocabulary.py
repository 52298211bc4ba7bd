"""The words of a chat, named once: roles, statuses, turns, sampling settings, requests.

The window, the command line, storage and the engines use these; the protocol
(`app.workers.protocol`) keeps its wire format and storage its schema, and each maps to
these words at its edge. `Sampling` lives a room lower, in `app.vocabulary.sampling`,
so the protocol, the engine and the local API say it too; a new sampling setting is a
field there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.storage.records import FINISHED_STATUSES, MessageStatus, Role
from app.vocabulary.sampling import KNOBS, SAMPLING_NAMES, Knob, Sampling
from app.workers import protocol as p

__all__ = [
    "FINISHED_STATUSES",
    "KNOBS",
    "Knob",
    "DocumentRef",
    "Request",
    "Role",
    "SAMPLING_NAMES",
    "Sampling",
    "Status",
    "Turn",
    "answer_figures",
]

# A turn of the conversation as an engine receives it: the protocol's own class, so the
# worker, the server engines and the local API read one shape.
Turn = p.ChatTurn


# Who wrote a message and where it stands: the stored words (never change or reuse a
# value), so the window, the session and the store share one enum each.
Status = MessageStatus


@dataclass(frozen=True)
class DocumentRef:
    """A document a conversation has: its bytes' hash, its name, and a file holding them.

    `path` is the copy in the data folder once the conversation is saved (the file the
    user attached until then).
    """

    sha256: str
    name: str
    path: str


@dataclass(frozen=True)
class Request:
    """One answer asked of an engine: the conversation so far, how to sample, the tools."""

    request_id: str
    turns: list[Turn]
    sampling: Sampling = field(default_factory=Sampling)
    tools: list[dict[str, Any]] = field(default_factory=list)  # offered to the model
    json_schema: dict[str, Any] | None = None  # the answer is JSON valid for it (constrained)

    def to_generate(self) -> p.Generate:
        """The protocol message that carries this request to a worker or server engine."""
        return p.Generate(
            self.request_id,
            list(self.turns),
            self.sampling,
            tools=list(self.tools),
            json_schema=self.json_schema,
        )

    @classmethod
    def from_generate(cls, message: p.Generate) -> Request:
        return cls(
            message.request_id,
            list(message.messages),
            message.sampling,
            list(message.tools),
            message.json_schema,
        )


def answer_figures(done: p.Done) -> dict[str, Any]:
    """What is saved with a finished answer: the figures the status bar shows."""
    return {
        "prompt_tokens": done.prompt_tokens,
        "image_tokens": done.image_tokens,
        "generated_tokens": done.generated_tokens,
        "time_to_first_token_s": round(done.time_to_first_token_s, 4),
        "tokens_per_s": round(done.tokens_per_s, 3),
        "finish_reason": done.finish_reason,
    }
