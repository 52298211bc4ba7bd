"""The server engine's tool steps against a scripted OpenAI-compatible server on 127.0.0.1.

The server answers the first request with streamed `tool_calls` deltas (the way vLLM's
llama4_pythonic parser streams them: id and name first, then the arguments in pieces),
and the next with text. The tool runs on a real MCP server.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.chat.conversation import Message
from app.chat.session import ChatSession, SessionObserver
from app.chat.tool_answer import ToolLoopAnswer
from app.chat.vocabulary import Sampling, Status
from app.engines.openai_client import ServerSettings, ask_server
from app.engines.server_thread import ServerOnThread
from app.engines.tool_images import ToolImageFiles
from app.engines.tool_steps import chat_turns
from app.tools.host import ToolHost
from app.tools.results import ToolImage
from app.tools.tool_loop import Approval, LoopTurn
from app.tools.tool_settings import ToolSettings
from app.workers import protocol as p
from tests.scripted_openai import Scripted, scripted_server, text_reply, tool_call_reply
from tests.tools.conftest import stdio_config


@pytest.fixture
def scripted() -> Iterator[tuple[Scripted, str]]:
    with scripted_server() as server:
        yield server


@pytest.fixture
def host(tmp_path: Path) -> Iterator[ToolHost]:
    with ToolHost(call_timeout_s=20, logs=tmp_path / "logs") as tool_host:
        yield tool_host


def test_streamed_tool_call_deltas_come_back_on_done(scripted: tuple[Scripted, str]) -> None:
    state, url = scripted
    state.replies.append(tool_call_reply("get_weather", '{"city": "Martha\'s Vineyard"}'))
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {}}}]
    final = ask_server(
        ServerSettings(url, "m"), [p.ChatTurn("user", "hi")], lambda e: None, tools=tools
    )
    assert isinstance(final, p.Done) and final.finish_reason == "tool_calls"
    assert final.tool_calls == [
        {"id": "call_abc", "name": "get_weather", "arguments": {"city": "Martha's Vineyard"}}
    ]
    assert state.bodies[0]["tools"] == tools


def test_arguments_that_are_not_json_are_a_sentence(scripted: tuple[Scripted, str]) -> None:
    state, url = scripted
    state.replies.append(tool_call_reply("f", "{city: LA"))
    final = ask_server(ServerSettings(url, "m"), [p.ChatTurn("user", "hi")], lambda e: None)
    assert isinstance(final, p.Done)
    assert "not a JSON object" in final.tool_calls[0]["problem"]


def test_tool_loop_through_the_server_engine(
    scripted: tuple[Scripted, str], host: ToolHost, tmp_path: Path
) -> None:
    """The session's tool loop drives a server from its own thread (`ServerOnThread`)."""
    state, url = scripted
    host.start([stdio_config()])
    assert host.wait_ready(30)
    state.replies += [
        tool_call_reply("add", '{"a": 19, "b": 23}'),
        tool_call_reply("red_square", '{"size": 4}', call_id="call_img"),
        text_reply("The sum is 42 and the square is red."),
    ]
    ended = threading.Event()
    session = ChatSession(None)  # type: ignore[arg-type]  # the engine is set below
    engine = ServerOnThread(ServerSettings(url, "m"), session.handle)
    session.engine = engine
    session.sampling = lambda: Sampling(max_new_tokens=64)
    answers: list[ToolLoopAnswer] = []

    def strategy(request: object) -> ToolLoopAnswer:
        answers.append(
            ToolLoopAnswer(
                engine,
                host,
                ToolSettings(),
                lambda proposal: Approval("run"),
                session.handle,
                tmp_path / "images",
            )
        )
        return answers[0]

    class Ended(SessionObserver):
        def answer_ended(self, message: Message, event: p.Message | None) -> None:
            ended.set()

    session.choose_strategy = strategy
    session.observers.append(Ended())
    try:
        session.send("Add 19 and 23, then draw.")
        assert ended.wait(30)
        answers[0].join(10)
    finally:
        engine.close()
    reply = session.conversation.messages[-1]
    assert answers[0].outcome is not None and answers[0].outcome.ended == "answered"
    assert reply.status is Status.COMPLETE
    assert reply.text == "The sum is 42 and the square is red."
    assert answers[0].steps == 3
    # The first request offered the MCP tools.
    assert {t["function"]["name"] for t in state.bodies[0]["tools"]} >= {"add", "echo"}
    # The second carried the call and its result, matched by id.
    second = state.bodies[1]["messages"]
    assert second[1]["tool_calls"][0]["id"] == "call_abc"
    assert json.loads(second[1]["tool_calls"][0]["function"]["arguments"]) == {"a": 19, "b": 23}
    assert second[2] == {"role": "tool", "tool_call_id": "call_abc", "content": "42"}
    # The image result reached the model as an image, after the tool message.
    third = state.bodies[2]["messages"]
    assert third[-2]["role"] == "tool" and third[-2]["tool_call_id"] == "call_img"
    image_part = third[-1]["content"][1]
    assert third[-1]["role"] == "user"
    assert image_part["image_url"]["url"].startswith("data:image/png;base64,")


def test_chat_turns_write_each_tool_image_once(tmp_path: Path) -> None:
    from PIL import Image

    Image.new("RGB", (3, 3), "blue").save(tmp_path / "b.png")
    data = (tmp_path / "b.png").read_bytes()
    turns = [
        LoopTurn("assistant", "", tool_calls=[{"id": "1", "name": "f", "arguments": {}}]),
        LoopTurn("tool", "see", images=[ToolImage("image/png", data)], tool_call_id="1"),
    ]
    images = ToolImageFiles(tmp_path / "out")
    out = chat_turns([p.ChatTurn("user", "q")], turns, images)
    assert [t.role for t in out] == ["user", "assistant", "tool"]
    assert out[2].tool_call_id == "1" and Path(out[2].images[0]).read_bytes() == data
    # The next steps send it again: the same file, not a new one.
    turns.append(LoopTurn("assistant", "more", tool_calls=[]))
    again = chat_turns([p.ChatTurn("user", "q")], turns, images)
    assert again[2].images == out[2].images == images.paths(turns[1].images)
    assert len(list((tmp_path / "out").iterdir())) == 1


def test_tool_images_of_other_types_become_png(tmp_path: Path) -> None:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (3, 3), "green").save(buffer, format="GIF")
    images = ToolImageFiles(tmp_path)
    [path] = images.paths([ToolImage("image/gif", buffer.getvalue())])
    assert path.endswith(".png") and Path(path).read_bytes().startswith(b"\x89PNG")
