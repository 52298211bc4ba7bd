"""One model step of the tool loop, through either engine.

`chat_turns` turns the loop's turns into protocol `ChatTurn`s (a tool's images are
files, as the user's images are, so both engines read them the same way; each is written
once, by `ToolImageFiles`, however many steps send it again).
`worker_step` streams an answer from the local worker, `server_step` asks an
OpenAI-compatible server with ``tools``; both take the calls from the answer's `Done`
(the worker reads them out of the model's text, `app.workers.tool_text`; a server's
come as its streamed ``tool_calls``), with `model_turn`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from app.engines.openai_client import ServerSettings, ask_server
from app.engines.tool_images import ToolImageFiles
from app.tools.call_parser import ToolCall
from app.tools.tool_loop import LoopTurn, ModelTurn, Step
from app.workers import protocol as p
from app.workers.client import WorkerClient, describe_exit

Say = Callable[[str], None]


class StepFailed(RuntimeError):
    """The model step ended in an error, was cancelled, or the worker died (the sentence)."""

    def __init__(self, message: str, event: p.Message | None = None) -> None:
        super().__init__(message)
        self.event = event


def chat_turns(
    base: Sequence[p.ChatTurn], turns: Sequence[LoopTurn], images: ToolImageFiles
) -> list[p.ChatTurn]:
    """`base` followed by the loop's turns, as the engines take them."""
    out = list(base)
    for turn in turns:
        if turn.role == "assistant":
            out.append(p.ChatTurn("assistant", turn.text, tool_calls=list(turn.tool_calls)))
            continue
        paths = images.paths(turn.images)
        out.append(p.ChatTurn("tool", turn.text, paths, tool_call_id=turn.tool_call_id))
    return out


def model_turn(text: str, done: p.Done) -> ModelTurn:
    """One step's outcome: the prose shown, and the calls (with their ids) its `Done` carries."""
    calls = [
        ToolCall(str(c.get("name", "")), dict(c.get("arguments") or {}), str(c.get("problem", "")))
        for c in done.tool_calls
    ]
    ids = [str(c.get("id", "")) for c in done.tool_calls]
    return ModelTurn(text, calls, list(done.tool_problems), ids)


def worker_step(
    client: WorkerClient,
    base: Sequence[p.ChatTurn],
    tools: Sequence[dict[str, Any]],
    image_dir: Path,
    on_text: Say,
    on_done: Callable[[p.Done], None] = lambda done: None,
    **sampling: Any,
) -> Step:
    """A step that asks the local worker; prose streams to `on_text` (a call's text never)."""
    images = ToolImageFiles(image_dir)

    def step(turns: list[LoopTurn]) -> ModelTurn:
        messages = chat_turns(base, turns, images)
        rid = client.generate(messages, tools=tools, **sampling)
        shown: list[str] = []
        for event in client.events_for(rid):
            if isinstance(event, p.Token):
                if event.text:
                    shown.append(event.text)
                    on_text(event.text)
            elif isinstance(event, p.Done):
                on_done(event)
                return model_turn("".join(shown), event)
            elif isinstance(event, p.Error):
                raise StepFailed(event.message, event)
            elif isinstance(event, p.Cancelled):
                raise StepFailed("The answer was stopped.", event)
            elif isinstance(event, p.WorkerDied):
                raise StepFailed(
                    f"The model worker stopped mid-answer ({describe_exit(event.exit_code)}).",
                    event,
                )
        raise StepFailed("The model worker sent no end to the answer.")

    return step


def server_step(
    settings: ServerSettings,
    base: Sequence[p.ChatTurn],
    tools: Sequence[dict[str, Any]],
    image_dir: Path,
    on_text: Say,
    on_done: Callable[[p.Done], None] = lambda done: None,
    api_key: str | None = None,
    **sampling: Any,
) -> Step:
    """A step that asks an OpenAI-compatible server with ``tools``."""
    images = ToolImageFiles(image_dir)

    def step(turns: list[LoopTurn]) -> ModelTurn:
        messages = chat_turns(base, turns, images)
        pieces: list[str] = []

        def deliver(event: p.Message) -> None:
            if isinstance(event, p.Token):
                pieces.append(event.text)
                on_text(event.text)

        final = ask_server(settings, messages, deliver, api_key=api_key, tools=tools, **sampling)
        if isinstance(final, p.Done):
            on_done(final)
            return model_turn("".join(pieces), final)
        if isinstance(final, p.Error):
            raise StepFailed(final.message, final)
        raise StepFailed("The answer was stopped.", final)

    return step
