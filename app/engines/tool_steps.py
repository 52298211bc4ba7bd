"""One model step of the tool loop, through either engine.

`chat_turns` turns the loop's turns into protocol `ChatTurn`s (a tool's images are
files, as the user's images are, so both engines read them the same way; each is written
once, by `ToolImageFiles`, however many steps send it again).
`model_turn` takes a step's calls from its `Done`, whichever engine answered (the worker
reads them out of the model's text, `app.workers.tool_text`; a server's come as its
streamed ``tool_calls``). The loop itself is `app.chat.tool_answer.ToolLoopAnswer`.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.engines.tool_images import ToolImageFiles
from app.tools.call_parser import ToolCall
from app.tools.tool_loop import LoopTurn, ModelTurn
from app.workers import protocol as p


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
