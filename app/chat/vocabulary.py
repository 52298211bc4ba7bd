"""The words of a chat, named once: roles, statuses, turns, sampling settings, requests.

The window, the command line, storage and the engines use these; the protocol
(`app.workers.protocol`) keeps its wire format and storage its schema, and each maps to
these words at its edge. A new sampling setting is added to `Sampling` and flows to
every engine through `Sampling.engine_kwargs`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from app.storage.records import FINISHED_STATUSES, MessageStatus, Role
from app.workers import protocol as p

__all__ = [
    "FINISHED_STATUSES",
    "DocumentRef",
    "Request",
    "Role",
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


SAMPLING_NAMES: Mapping[str, str] = {
    "max_new_tokens": "Max new tokens",
    "temperature": "Temperature",
    "top_p": "Top p",
    "min_p": "Min p",
    "seed": "Seed",
}


@dataclass(frozen=True)
class Sampling:
    """How an answer is drawn. `temperature` 0 is greedy; `min_p` 0 is off."""

    max_new_tokens: int = 512
    temperature: float = 0.6
    top_p: float = 0.9
    min_p: float = 0.0
    seed: int | None = None

    def problem(self, names: Mapping[str, str] = SAMPLING_NAMES) -> str | None:
        """A sentence saying what is wrong with these settings, or None.

        `names` says each field as the user knows it (a label, a command-line flag).
        """
        if self.max_new_tokens < 1:
            return f"{names['max_new_tokens']} must be at least 1."
        if self.temperature < 0:
            return f"{names['temperature']} must not be negative (0 means greedy)."
        if not 0 < self.top_p <= 1:
            return f"{names['top_p']} must be greater than 0 and at most 1."
        if not 0 <= self.min_p < 1:
            return f"{names['min_p']} must be at least 0 and less than 1 (0 turns it off)."
        return None

    def engine_kwargs(self) -> dict[str, Any]:
        """The keyword arguments every `Engine.generate` takes for these settings."""
        return asdict(self)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form saved with a conversation."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Sampling:
        """Settings saved by any version: unknown keys are ignored, missing ones default."""
        known = {key: data[key] for key in cls.__dataclass_fields__ if key in data}
        return cls(**known)


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
        s = self.sampling
        return p.Generate(
            self.request_id,
            list(self.turns),
            s.max_new_tokens,
            s.temperature,
            s.top_p,
            s.seed,
            tools=list(self.tools),
            min_p=s.min_p,
            json_schema=self.json_schema,
        )

    @classmethod
    def from_generate(cls, message: p.Generate) -> Request:
        sampling = Sampling(
            message.max_new_tokens, message.temperature, message.top_p, message.min_p, message.seed
        )
        return cls(
            message.request_id,
            list(message.messages),
            sampling,
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
