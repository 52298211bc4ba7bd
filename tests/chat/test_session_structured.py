"""A question answered as fields: what the engine is asked, and how the answer is checked."""

from __future__ import annotations

from app.chat.session import ChatSession
from app.chat.structured_answer import value_of
from app.chat.vocabulary import Sampling, Status
from app.structured.request import from_document
from app.workers import protocol as p
from tests.chat.test_session import FakeEngine, Log

SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string", "maxLength": 5}, "n": {"type": "integer"}},
    "required": ["name", "n"],
    "additionalProperties": False,
}


def _session(engine: FakeEngine) -> tuple[ChatSession, Log]:
    session = ChatSession(engine, sampling=lambda: Sampling(max_new_tokens=7))
    session.tools = lambda: [{"type": "function", "function": {"name": "search"}}]
    log = Log()
    session.observers.append(log)
    return session, log


def _play(session: ChatSession, text: str, reason: str = "stop") -> None:
    rid = session.request_id
    assert rid is not None
    session.handle(p.Token(rid, text, []))
    session.handle(p.Done(rid, 10, 0, 2, 0.1, 20.0, reason))


def test_the_engine_is_asked_with_the_schema_its_budget_and_no_tools() -> None:
    engine = FakeEngine()
    session, _ = _session(engine)
    request = from_document(SCHEMA)
    session.send("Who is it?", [], request)
    asked = engine.asked[-1]
    assert asked["json_schema"] == request.schema and asked["tools"] == []
    assert asked["sampling"].max_new_tokens == request.budget != 7
    assert asked["messages"][-1].text.startswith("Who is it?\n\nAnswer with one JSON value")
    _play(session, '{"name": "Ann", "n": 3}')
    answer = session.conversation.messages[-1]
    assert answer.status is Status.COMPLETE and value_of(answer.stats) == {"name": "Ann", "n": 3}
    # Regenerate asks for fields again; the next plain question does not.
    session.regenerate(answer.id)
    assert engine.asked[-1]["json_schema"] == request.schema
    _play(session, '{"name": "Bo", "n": 1}')
    session.send("And now in words?")
    assert engine.asked[-1]["json_schema"] is None and engine.asked[-1]["tools"]
    assert engine.asked[-1]["sampling"].max_new_tokens == 7


def test_an_answer_cut_off_or_not_valid_is_a_failure_with_a_sentence_not_a_result() -> None:
    engine = FakeEngine()
    session, log = _session(engine)
    session.send("Who?", [], from_document(SCHEMA))
    _play(session, '{"name": "Ann"', reason="length")
    answer = session.conversation.messages[-1]
    assert answer.status is Status.ERROR and value_of(answer.stats) is None
    assert log.calls[-1][0] == "failed" and "cut off at its limit" in log.calls[-1][1]
    session.retry()
    _play(session, '{"name": "Annabel", "n": 1}')  # a server that did not constrain it
    assert "does not match the schema at name" in log.calls[-1][1]
