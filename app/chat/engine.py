"""The one interface every engine offers: the local worker, a server, the window's bridge.

An engine starts an answer and stops one; what happens comes back as protocol events
(`Token`…, then exactly one of `Done`, `Error` or `Cancelled`; `WorkerDied` from a local
worker) through the callback or queue the engine was made with. `ChatSession.handle`
takes those events; the window's bridge turns them into signals first.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from app.chat.vocabulary import Request, Sampling, Turn


class Engine(Protocol):
    """Starts and stops answers. `WorkerClient`, `ServerEngine` and `WorkerBridge` are ones."""

    def generate(
        self,
        messages: Sequence[Turn],
        sampling: Sampling | None = ...,
        *,
        request_id: str | None = ...,
        tools: Sequence[dict[str, Any]] = ...,
        json_schema: dict[str, Any] | None = ...,
    ) -> str:
        """Start an answer to `messages`; returns its request id (`request_id` if given).

        With `json_schema`, the answer is JSON constrained to it (grammar or response_format).
        """
        ...

    def cancel(self, request_id: str) -> None:
        """Stop an answer; it ends with `Cancelled` (or `Done`, if it was about to)."""
        ...


def start(engine: Engine, request: Request) -> str:
    """Ask `engine` for `request`: the one place a request is spread into `generate`'s words."""
    return engine.generate(
        request.turns,
        sampling=request.sampling,
        request_id=request.request_id,
        tools=request.tools,
        json_schema=request.json_schema,
    )


if TYPE_CHECKING:  # mypy checks that each engine fits the interface
    from app.engines.openai_client import ServerEngine
    from app.workers.client import WorkerClient

    def _engines_fit(worker: WorkerClient, server: ServerEngine) -> tuple[Engine, Engine]:
        return worker, server
