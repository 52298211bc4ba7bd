"""ChatSession over the real worker process with the demo checkpoint: send, stream, stop,
a refused setting, the worker's death and Retry. Events are pumped from the client's queue,
as a command-line front end would."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.chat.conversation import Message
from app.chat.session import ChatSession, SessionObserver
from app.chat.vocabulary import Sampling, Status
from app.workers import protocol as p
from app.workers.client import WorkerClient

# Sampled at temperature 1 with a seed, the demo's random weights rarely stop early.
LONG = Sampling(max_new_tokens=400, temperature=1.0, top_p=1.0, min_p=0.01, seed=7)


class Heard(SessionObserver):
    def __init__(self) -> None:
        self.texts: list[str] = []
        self.failures: list[str] = []

    def text_received(self, message: Message, text: str) -> None:
        self.texts.append(text)

    def answer_failed(self, sentence: str) -> None:
        self.failures.append(sentence)


def load(client: WorkerClient, model: Path) -> None:
    client.start()
    events = list(client.events_for(client.load(model), timeout=120))
    assert isinstance(events[-1], p.Ready), events[-1]


@pytest.fixture(scope="module")
def client(demo_bf16: Path) -> Iterator[WorkerClient]:
    client = WorkerClient()
    load(client, demo_bf16)
    yield client
    client.shutdown(timeout=10)


def pump(
    client: WorkerClient, session: ChatSession, on_token: Callable[[], None] = lambda: None
) -> list[p.Message]:
    """Hand the current answer's events to the session until it ends."""
    rid = session.request_id
    assert rid is not None
    seen = []
    for event in client.events_for(rid, timeout=120):
        seen.append(event)
        session.handle(event)
        if isinstance(event, p.Token) and len(seen) == 1:
            on_token()
    assert not session.generating
    return seen


def test_send_streams_the_answer_with_min_p(client: WorkerClient) -> None:
    session = ChatSession(client, sampling=lambda: Sampling(max_new_tokens=12, min_p=0.1, seed=1))
    heard = Heard()
    session.observers.append(heard)
    session.send("Hello there")
    events = pump(client, session)
    assert isinstance(events[-1], p.Done), events[-1]
    reply = session.conversation.messages[-1]
    assert reply.status is Status.COMPLETE and reply.text
    assert "".join(heard.texts) == reply.text
    assert reply.stats["generated_tokens"] == events[-1].generated_tokens
    assert reply.stats["sampling"]["min_p"] == 0.1


def test_stop_ends_the_answer_with_its_text_so_far(client: WorkerClient) -> None:
    session = ChatSession(client, sampling=lambda: LONG)
    session.send("Tell me a long story")
    events = pump(client, session, on_token=session.stop)
    assert isinstance(events[-1], p.Cancelled), events[-1]
    reply = session.conversation.messages[-1]
    assert reply.status is Status.STOPPED and reply.text
    assert events[-1].generated_tokens < LONG.max_new_tokens


def test_a_setting_the_worker_refuses_is_a_sentence(client: WorkerClient) -> None:
    session = ChatSession(client, sampling=lambda: Sampling(min_p=1.5))
    heard = Heard()
    session.observers.append(heard)
    session.send("Hi")
    events = pump(client, session)
    assert isinstance(events[-1], p.Error) and events[-1].error_kind == "bad_input"
    assert heard.failures == ["Min p must be at least 0 and less than 1 (0 turns it off)."]
    assert [m.text for m in session.conversation.messages] == ["Hi"]  # the empty answer left


def test_the_worker_dying_mid_answer_then_retry(client: WorkerClient, demo_bf16: Path) -> None:
    session = ChatSession(client, sampling=lambda: LONG)
    heard = Heard()
    session.observers.append(heard)
    session.send("Tell me a long story")
    events = pump(client, session, on_token=client.kill)
    assert isinstance(events[-1], p.WorkerDied)
    broken = session.conversation.messages[-1]
    assert broken.status is Status.ERROR and broken.text  # what was written stands
    assert "stopped" in heard.failures[0] and "Retry" in heard.failures[0]

    load(client, demo_bf16)  # what the front end's Retry does first
    session.sampling = lambda: Sampling(max_new_tokens=8, temperature=0.0)
    session.retry()
    events = pump(client, session)
    assert isinstance(events[-1], p.Done), events[-1]
    messages = session.conversation.messages
    assert [m.status for m in messages] == [Status.COMPLETE, Status.COMPLETE]
    assert messages[-1].text and messages[-1] is not broken
