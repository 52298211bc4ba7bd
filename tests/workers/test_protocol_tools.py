"""Tool definitions and tool turns travel through the worker protocol as plain JSON."""

from __future__ import annotations

from app.vocabulary.sampling import Sampling
from app.workers import protocol as p


def test_generate_with_tools_and_tool_turns_round_trips() -> None:
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
    message = p.Generate(
        "r1",
        [
            p.ChatTurn("user", "hi"),
            p.ChatTurn("assistant", "", tool_calls=[{"name": "f", "arguments": {"x": [1, None]}}]),
            p.ChatTurn("tool", "result", ["/tmp/a.png"]),
        ],
        tools=tools,
    )
    again = p.decode(p.encode(message))
    assert again == message
    assert isinstance(again, p.Generate) and again.messages[1].tool_calls[0]["arguments"] == {
        "x": [1, None]
    }


def test_old_generate_lines_still_decode() -> None:
    line = '{"v":1,"kind":"generate","request_id":"r","messages":[{"role":"user","text":"hi"}]}'
    message = p.decode(line)
    assert isinstance(message, p.Generate) and message.tools == []
    assert message.messages[0].tool_calls == []


def test_the_worker_answers_after_a_tool_call_and_its_image_result(
    worker: object, images: dict[str, object]
) -> None:
    """Tool definitions, a call turn and a tool turn with an image, through the real worker."""
    from app.workers.client import WorkerClient

    assert isinstance(worker, WorkerClient)
    tools = [
        {
            "type": "function",
            "function": {
                "name": "snapshot",
                "description": "A picture.",
                "parameters": {"type": "object", "properties": {}},
            },
        }
    ]
    turns = [
        p.ChatTurn("user", "Take a picture."),
        p.ChatTurn("assistant", "", tool_calls=[{"id": "1", "name": "snapshot", "arguments": {}}]),
        p.ChatTurn("tool", "Here it is.", [str(images["wide"])], tool_call_id="1"),
    ]
    rid = worker.generate(turns, sampling=Sampling(max_new_tokens=3, temperature=0), tools=tools)
    events = list(worker.events_for(rid, timeout=120))
    done = events[-1]
    assert isinstance(done, p.Done), done
    assert done.image_tokens > 0 and done.generated_tokens == 3
    plain = worker.generate(
        [p.ChatTurn("user", "Take a picture.")], sampling=Sampling(max_new_tokens=1)
    )
    plain_done = list(worker.events_for(plain, timeout=120))[-1]
    assert isinstance(plain_done, p.Done)
    assert done.prompt_tokens > plain_done.prompt_tokens + done.image_tokens
