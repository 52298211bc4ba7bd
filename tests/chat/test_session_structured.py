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


def test_a_server_that_cannot_constrain_gets_the_fields_in_the_prompt_and_one_more_try() -> None:
    from app.chat.structured_answer import CONSTRAINED_KEY, TRIES_KEY, note_of
    from app.engines.openai_client import ServerSettings

    engine = FakeEngine()
    session, log = _session(engine)
    session.keeps_versions = True
    session.server = lambda: ServerSettings("http://127.0.0.1:9/v1", "m", preset="transformers")
    session.send("Who?", [], from_document(SCHEMA))
    assert engine.asked[-1]["json_schema"] is None  # in the prompt only
    assert "Answer with one JSON value" in engine.asked[-1]["messages"][-1].text
    first = session.conversation.messages[-1]
    _play(session, 'Sure! {"name": "Ann"}')
    assert len(engine.asked) == 2 and engine.asked[-1]["json_schema"] is None
    assert first not in session.conversation.messages  # the try before stays a version
    assert not any(call[0] == "failed" for call in log.calls)
    _play(session, '{"name": "Ann", "n": 3}')
    answer = session.conversation.messages[-1]
    assert answer.status is Status.COMPLETE and value_of(answer.stats) == {"name": "Ann", "n": 3}
    assert answer.stats[CONSTRAINED_KEY] is False and answer.stats[TRIES_KEY] == 2
    assert note_of(answer.stats).startswith("Not constrained") and "second try" in note_of(
        answer.stats
    )
    # Two answers that are not valid: a failure, and no third try.
    session.regenerate(answer.id)
    _play(session, "no")
    _play(session, "{}")
    assert len(engine.asked) == 4
    assert log.calls[-1][0] == "failed" and "does not match the schema" in log.calls[-1][1]


def test_a_server_that_refuses_response_format_is_asked_again_in_the_prompt() -> None:
    from app.chat.structured_answer import CONSTRAINED_KEY
    from app.engines.openai_client import ServerSettings

    engine = FakeEngine()
    session, log = _session(engine)
    session.server = lambda: ServerSettings("http://127.0.0.1:9/v1", "m")
    request = from_document(SCHEMA)
    session.send("Who?", [], request)
    assert engine.asked[-1]["json_schema"] == request.schema  # a custom server: asked to
    rid = session.request_id
    assert rid is not None
    session.handle(p.Error(rid, "bad_input", "response_format is not supported"))
    assert engine.asked[-1]["json_schema"] is None and len(engine.asked) == 2
    _play(session, '{"name": "Bo", "n": 1}')
    assert session.conversation.messages[-1].stats[CONSTRAINED_KEY] is False
    session.send("Again?", [], request)  # remembered for this server
    assert engine.asked[-1]["json_schema"] is None
    _play(session, '{"name": "Cy", "n": 2}')
    # The local worker always constrains: the mark says so.
    session.server = lambda: None
    session.send("Local?", [], request)
    assert engine.asked[-1]["json_schema"] == request.schema
    _play(session, '{"name": "Di", "n": 4}')
    assert session.conversation.messages[-1].stats[CONSTRAINED_KEY] is True


def test_the_local_worker_is_never_taken_for_a_server_that_refused() -> None:
    engine = FakeEngine()
    session, log = _session(engine)
    request = from_document(SCHEMA)
    session.send("Who?", [], request)
    rid = session.request_id
    assert rid is not None
    session.handle(p.Error(rid, "bad_input", "the response_format word in a worker's error"))
    assert len(engine.asked) == 1 and log.calls[-1][0] == "failed"
