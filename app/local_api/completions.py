"""The bodies the API answers with: OpenAI's chat completion and its streamed chunks."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from app.local_api.shared_model import Finish


@dataclass
class Completion:
    """One answer's identity, shared by its chunks."""

    model: str
    id: str = field(default_factory=lambda: "chatcmpl-" + uuid.uuid4().hex[:24])
    created: int = field(default_factory=lambda: int(time.time()))

    def _head(self, obj: str) -> dict[str, Any]:
        return {"id": self.id, "object": obj, "created": self.created, "model": self.model}

    def whole(
        self, text: str, finish: Finish, calls: tuple[dict[str, Any], ...] = ()
    ) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": text, "refusal": None}
        if calls:  # OpenAI sends no empty content beside calls
            message.update(content=text or None, tool_calls=list(calls))
        choice = {"index": 0, "message": message, "finish_reason": finish.reason, "logprobs": None}
        return {**self._head("chat.completion"), "choices": [choice], "usage": usage(finish)}

    def chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}
        return sse({**self._head("chat.completion.chunk"), "choices": [choice]})

    def calls_chunk(self, calls: tuple[dict[str, Any], ...]) -> bytes:
        """Every call whole in one chunk (each with its `index`), as vLLM streams them."""
        return self.chunk({"tool_calls": [{"index": i, **c} for i, c in enumerate(calls)]})

    def usage_chunk(self, finish: Finish) -> bytes:
        return sse({**self._head("chat.completion.chunk"), "choices": [], "usage": usage(finish)})


def usage(finish: Finish) -> dict[str, Any]:
    """OpenAI's usage object; `cached_tokens` as OpenAI and vLLM report a prefix-cache hit."""
    return {
        "prompt_tokens": finish.prompt_tokens,
        "completion_tokens": finish.completion_tokens,
        "total_tokens": finish.prompt_tokens + finish.completion_tokens,
        "prompt_tokens_details": {"cached_tokens": finish.cached_tokens},
    }


def sse(body: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(body, ensure_ascii=False).encode("utf-8") + b"\n\n"


DONE = b"data: [DONE]\n\n"
