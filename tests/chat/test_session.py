"""ChatSession's rules with a fake engine (fast); the real worker: test_session_worker."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from app.chat.conversation import Conversation, Message
from app.chat.session import ChatSession, SessionObserver
from app.chat.vocabulary import Request, Role, Sampling, Status
from app.workers import protocol as p


class FakeEngine:
    """Records what it is asked; the test plays the engine's events."""

    def __init__(self) -> None:
        self.asked: list[dict[str, Any]] = []
        self.cancelled: list[str] = []

    def generate(
        self, messages: Sequence[p.ChatTurn], *, request_id: str | None = None, **kw: Any
    ) -> str:
        assert request_id is not None
        self.asked.append({"messages": list(messages), "request_id": request_id, **kw})
        return request_id

    def cancel(self, request_id: str) -> None:
        self.cancelled.append(request_id)


class Log(SessionObserver):
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def message_added(self, message: Message) -> None:
        self.calls.append(("added", message.role))

    def messages_dropped(self, messages: list[Message]) -> None:
        self.calls.append(("dropped", len(messages)))

    def text_received(self, message: Message, text: str) -> None:
        self.calls.append(("text", text))

    def answer_ended(self, message: Message, event: p.Message | None) -> None:
        self.calls.append(("ended", message.status))

    def answer_failed(self, sentence: str) -> None:
        self.calls.append(("failed", sentence))


def done(rid: str) -> p.Done:
    return p.Done(rid, 10, 0, 2, 0.1, 20.0, "stop")


@pytest.fixture
def engine() -> FakeEngine:
    return FakeEngine()


@pytest.fixture
def session(engine: FakeEngine) -> ChatSession:
    return ChatSession(
        engine,
        sampling=lambda: Sampling(max_new_tokens=7, min_p=0.05),
        system_prompt=lambda: "Be brief.",
    )


def answer(session: ChatSession, *pieces: str) -> None:
    rid = session.request_id
    assert rid is not None
    for piece in pieces:
        session.handle(p.Token(rid, piece, []))
    session.handle(done(rid))


def test_send_streams_and_finishes_with_the_settings_it_used(
    session: ChatSession, engine: FakeEngine
) -> None:
    log = Log()
    session.observers.append(log)
    session.send("Hi", ["a.png"])
    asked = engine.asked[0]
    assert [t.role for t in asked["messages"]] == ["system", "user"]
    assert asked["messages"][1].images == ["a.png"]
    assert (asked["sampling"].max_new_tokens, asked["sampling"].min_p) == (7, 0.05)
    assert session.send("again") is None  # one answer at a time
    session.handle(p.Token("someone-else", "x", []))  # another request's events are ignored
    answer(session, "Hel", "lo")
    reply = session.conversation.messages[-1]
    assert (reply.text, reply.status) == ("Hello", Status.COMPLETE)
    assert reply.stats["sampling"]["min_p"] == 0.05 and reply.stats["generated_tokens"] == 2
    assert log.calls == [
        ("added", Role.USER),
        ("added", Role.ASSISTANT),
        ("text", "Hel"),
        ("text", "lo"),
        ("ended", Status.COMPLETE),
    ]
    assert not session.generating


def test_stop_keeps_the_text_so_far(session: ChatSession, engine: FakeEngine) -> None:
    session.send("Hi")
    rid = session.request_id
    assert rid is not None
    session.handle(p.Token(rid, "Part", []))
    session.stop()
    assert engine.cancelled == [rid]
    session.handle(p.Cancelled(rid, 1))
    reply = session.conversation.messages[-1]
    assert (reply.text, reply.status) == ("Part", Status.STOPPED)


@pytest.mark.parametrize("keeps_versions", [True, False])
def test_regenerate_adds_a_version_or_replaces(
    session: ChatSession, engine: FakeEngine, keeps_versions: bool
) -> None:
    session.keeps_versions = keeps_versions
    session.send("Hi")
    answer(session, "one")
    first = session.conversation.messages[-1]
    session.regenerate(first.id)
    answer(session, "two")
    messages = session.conversation.messages
    assert [m.text for m in messages] == ["Hi", "two"]
    assert messages[-1].version_label == ("2 / 2" if keeps_versions else "")
    # The question is asked again without the replaced answer.
    assert [t.text for t in engine.asked[1]["messages"]] == ["Be brief.", "Hi"]


def test_edit_takes_the_question_back_and_sends_a_new_version(
    session: ChatSession, engine: FakeEngine
) -> None:
    session.keeps_versions = True
    session.send("Hi")
    answer(session, "one")
    question = session.conversation.messages[0]
    taken = session.edit(question.id)
    assert taken is question and session.conversation.messages == []
    session.send("Hello")
    assert session.conversation.messages[0].version_label == "2 / 2"
    answer(session, "two")
    assert [m.text for m in session.conversation.messages] == ["Hello", "two"]


def test_a_failure_drops_the_empty_answer_and_retry_asks_again(
    session: ChatSession, engine: FakeEngine
) -> None:
    log = Log()
    session.observers.append(log)
    session.send("Hi")
    rid = session.request_id
    assert rid is not None
    session.handle(p.Error(rid, "generation_failed", "Out of memory."))
    assert [m.role for m in session.conversation.messages] == [Role.USER]
    assert ("failed", "Out of memory.") in log.calls
    session.retry()
    answer(session, "ok")
    assert [m.text for m in session.conversation.messages] == ["Hi", "ok"]
    assert len(engine.asked) == 2


def test_new_chat_stops_the_answer_being_written(session: ChatSession, engine: FakeEngine) -> None:
    session.send("Hi")
    rid = session.request_id
    session.new_chat()
    assert engine.cancelled == [rid] and not session.generating
    assert session.conversation.messages == []
    session.handle(p.Token(str(rid), "late", []))  # the old answer's last words go nowhere


def test_the_strategy_is_chosen_per_answer(session: ChatSession) -> None:
    class Tools:
        def __init__(self) -> None:
            self.requests: list[Request] = []

        def start(self, request: Request, message: Message) -> str:
            self.requests.append(request)
            return "tools-1"

        def cancel(self, request_id: str) -> None:
            raise AssertionError("not stopped")

        def take(self, event: p.Message) -> bool:
            return False

    tools = Tools()
    session.choose_strategy = lambda request: tools
    session.tools = lambda: [{"type": "function", "function": {"name": "clock"}}]
    session.send("What time is it?")
    assert session.request_id == "tools-1"
    assert tools.requests[0].tools[0]["function"]["name"] == "clock"
    session.handle(p.Token("tools-1", "Noon.", []))
    session.handle(done("tools-1"))
    assert session.conversation.messages[-1].text == "Noon."


def test_a_strategy_that_cannot_start_is_a_failure_not_a_hang(session: ChatSession) -> None:
    class Broken:
        def start(self, request: Request, message: Message) -> str:
            raise OSError("the pipe is closed")

        def cancel(self, request_id: str) -> None:
            pass

    log = Log()
    session.observers.append(log)
    session.choose_strategy = lambda request: Broken()
    session.send("Hi")
    assert not session.generating
    assert ("failed", "The answer could not be started: the pipe is closed") in log.calls


def test_sampling_says_what_is_wrong() -> None:
    assert Sampling().problem() is None
    assert "Min p" in str(Sampling(min_p=1.0).problem())
    assert "Top p" in str(Sampling(top_p=0).problem())
    saved = Sampling(min_p=0.1, seed=3).to_dict()
    assert Sampling.from_dict({**saved, "from_the_future": 1}) == Sampling(min_p=0.1, seed=3)
    assert Sampling.from_dict({"top_p": 0.5}) == Sampling(top_p=0.5)  # saved before min_p


def test_a_request_maps_to_the_protocol_and_back() -> None:
    request = Request("r1", [p.ChatTurn("user", "Hi")], Sampling(min_p=0.2, seed=1), [])
    wire = p.decode(p.encode(request.to_generate()))
    assert isinstance(wire, p.Generate) and wire.sampling.min_p == 0.2
    assert Request.from_generate(wire) == request


def test_another_version_shown_keeps_the_answer_streaming(
    session: ChatSession, engine: FakeEngine
) -> None:
    session.send("Hi")
    answer_message = session.answer
    rid = session.request_id
    assert answer_message is not None and rid is not None
    session.open(Conversation(), keep_answer=True)  # a version without the answer on it
    session.handle(p.Token(rid, "still ", []))
    session.handle(p.Token(rid, "here", []))
    session.handle(done(rid))
    assert engine.cancelled == [] and answer_message.text == "still here"
    assert answer_message.status is Status.COMPLETE
