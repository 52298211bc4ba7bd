"""The session's answer strategy while tools are enabled: `WindowTools`' loop, into the view."""

from __future__ import annotations

from app.chat.conversation import Message
from app.chat.vocabulary import Request
from app.ui.tools.window_tools import WindowTools
from app.ui.transcript.assistant_message_view import AssistantMessageView
from app.workers import protocol as p


class ToolAnswer:
    """Answers `request` through the tool loop; its cards and results go into the view."""

    def __init__(self, tools: WindowTools, view: AssistantMessageView, image_limit: int) -> None:
        self._tools = tools
        self._view = view
        self._image_limit = image_limit

    def start(self, request: Request, message: Message) -> str:
        images = sum(len(turn.images) for turn in request.turns)  # earlier tool images too
        budget = max(0, self._image_limit - images)
        sampling = request.sampling.engine_kwargs()
        return self._tools.generate(self._view, request.turns, image_budget=budget, **sampling)

    def cancel(self, request_id: str) -> None:
        self._tools.cancel(request_id)

    def take(self, event: p.Message) -> bool:
        return False  # `WindowTools` hears its steps from the bridge itself
