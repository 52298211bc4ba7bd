"""`ServerEngine` against a real `transformers serve` on 127.0.0.1 with the demo checkpoint."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from app.engines.managed_server import TEMPLATES, ManagedServer, free_port, group_alive
from app.engines.openai_client import ServerEngine, ServerSettings, ask_server, list_server_models
from app.engines.server_errors import ServerError
from app.vocabulary.sampling import Sampling
from app.workers import protocol as p

# transformers serve takes a whole generation config as an extension field; this one
# makes the random demo model talk long enough to be stopped or killed mid-answer.
LONG_ANSWER = {
    "generation_config": json.dumps(
        {"max_new_tokens": 4000, "min_new_tokens": 4000, "do_sample": False}
    )
}
SECRET = "sk-test-3f9a1c77e0b24d56-do-not-log"


def settings_for(server: Any, model: str | None = None, **extra: Any) -> ServerSettings:
    return ServerSettings(base_url=server.base_url, model=model or server.argv[2], **extra)


def ask(
    settings: ServerSettings, turns: list[p.ChatTurn], **kwargs: Any
) -> tuple[list[p.Message], p.Message]:
    events: list[p.Message] = []
    final = ask_server(settings, turns, events.append, **kwargs)
    return events, final


def text_of(events: list[p.Message]) -> str:
    return "".join(e.text for e in events if isinstance(e, p.Token))


def test_streams_text_with_figures(demo_server: Any) -> None:
    settings = settings_for(demo_server)
    turns = [p.ChatTurn("user", "Hello, who are you?")]
    events, done = ask(settings, turns, sampling=Sampling(max_new_tokens=12, temperature=0))
    assert isinstance(done, p.Done), done
    tokens = [e for e in events if isinstance(e, p.Token)]
    assert len(tokens) >= 2 and all(t.token_ids == [] for t in tokens)
    assert events[-1] is done and sum(isinstance(e, p.Done) for e in events) == 1
    assert done.generated_tokens == 12 and done.finish_reason == "length"
    assert done.prompt_tokens > 5
    assert 0 < done.time_to_first_token_s < 30 and done.tokens_per_s > 0
    # Greedy decoding on the same server gives the same words again.
    again, _ = ask(settings, turns, sampling=Sampling(max_new_tokens=12, temperature=0))
    assert text_of(again) == text_of(events)


def test_images_reach_the_model(demo_server: Any, images: dict[str, Path]) -> None:
    settings = settings_for(demo_server)
    _, plain = ask(
        settings,
        [p.ChatTurn("user", "Describe.")],
        sampling=Sampling(max_new_tokens=3, temperature=0),
    )
    turn = p.ChatTurn("user", "Describe.", [str(images["wide"]), str(images["tall"])])
    events, with_images = ask(settings, [turn], sampling=Sampling(max_new_tokens=3, temperature=0))
    assert isinstance(plain, p.Done) and isinstance(with_images, p.Done), with_images
    # The demo spends 16 tokens a tile and at least one tile an image.
    assert with_images.prompt_tokens >= plain.prompt_tokens + 2 * 16
    assert text_of(events)


def test_a_bad_image_is_refused_before_sending(demo_server: Any, images: dict[str, Path]) -> None:
    turn = p.ChatTurn("user", "Describe.", [str(images["truncated"])])
    _, final = ask(settings_for(demo_server), [turn], sampling=Sampling(max_new_tokens=3))
    assert isinstance(final, p.Error) and final.error_kind == "bad_input"
    assert "truncated.png is damaged or truncated" in final.message


def cpu_seconds(pid: int) -> float:
    """CPU time used so far by a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_stop_keeps_the_partial_answer(demo_server: Any) -> None:
    settings = settings_for(demo_server)

    async def busy(pid: int) -> float:
        before = cpu_seconds(pid)
        await asyncio.sleep(1.0)
        return cpu_seconds(pid) - before

    async def main() -> tuple[list[p.Message], float, float, p.Message | None]:
        events: list[p.Message] = []
        engine = ServerEngine(settings, on_event=events.append)
        rid = engine.generate(
            [p.ChatTurn("user", "Talk.")],
            sampling=Sampling(max_new_tokens=4000, temperature=0),
            extra_body=LONG_ANSWER,
        )
        deadline = time.monotonic() + 60
        while sum(isinstance(e, p.Token) for e in events) < 5:
            assert time.monotonic() < deadline, events
            await asyncio.sleep(0.02)
        while_generating = await busy(demo_server.pid)
        engine.cancel(rid)
        assert await engine.wait(rid) is None
        await asyncio.sleep(0.5)
        after_stop = await busy(demo_server.pid)
        rid2 = engine.generate(
            [p.ChatTurn("user", "Hi")], sampling=Sampling(max_new_tokens=3, temperature=0)
        )
        final = await asyncio.wait_for(engine.wait(rid2), timeout=60)
        await engine.aclose()
        return events, while_generating, after_stop, final

    events, while_generating, after_stop, second = asyncio.run(main())
    first = [e for e in events if getattr(e, "request_id", None) == events[0].request_id]
    assert isinstance(first[-1], p.Cancelled)
    assert [type(e) for e in first[:-1]] == [p.Token] * (len(first) - 1)
    assert first[-1].generated_tokens == len(first) - 1 >= 5
    # Closing the stream made the server stop generating, and it answers the next request.
    assert while_generating > 0.3 and after_stop < 0.2, (while_generating, after_stop)
    assert isinstance(second, p.Done)


def test_server_killed_mid_answer(demo_bf16: Path, tmp_path: Path) -> None:
    server = ManagedServer(
        TEMPLATES["transformers"] + " --device cpu",
        model=str(demo_bf16),
        port=free_port(),
        env={"HF_HUB_CACHE": str(tmp_path), "HF_HUB_OFFLINE": "1"},
    )
    server.start()
    try:
        server.wait_until_ready(timeout_s=180)
        settings = settings_for(server)

        def on_event(event: p.Message) -> None:
            events.append(event)
            if sum(isinstance(e, p.Token) for e in events) == 5:
                os.killpg(server.pid or 0, signal.SIGKILL)

        events: list[p.Message] = []
        final = ask_server(
            settings,
            [p.ChatTurn("user", "Talk.")],
            on_event,
            sampling=Sampling(max_new_tokens=4000, temperature=0),
            extra_body=LONG_ANSWER,
        )
    finally:
        server.stop()
    assert isinstance(final, p.Error), final
    assert final.error_kind == "server_died"
    assert "The text so far is kept" in final.message
    assert sum(isinstance(e, p.Token) for e in events) >= 5
    assert not group_alive(server.pid or 0)


def test_wrong_model_name(demo_server: Any) -> None:
    settings = settings_for(demo_server, model="meta-llama/Nope-17B")
    events, final = ask(settings, [p.ChatTurn("user", "Hi")], sampling=Sampling(max_new_tokens=3))
    assert isinstance(final, p.Error) and final.error_kind == "unknown_model"
    assert "“meta-llama/Nope-17B”" in final.message and "Test connection" in final.message
    assert events == [final]


def test_connection_refused() -> None:
    settings = ServerSettings(base_url=f"http://127.0.0.1:{free_port()}/v1", model="m")
    started = time.monotonic()
    _, final = ask(settings, [p.ChatTurn("user", "Hi")])
    assert isinstance(final, p.Error) and final.error_kind == "connection_refused"
    assert settings.base_url in final.message and "server is running" in final.message
    with pytest.raises(ServerError) as caught:
        list_server_models(settings)
    assert caught.value.kind == "connection_refused"
    assert time.monotonic() - started < 10  # no silent retries


def test_list_models_answers(demo_server: Any) -> None:
    # The demo is served from a folder, which transformers serve does not list; the
    # call must still succeed. (Listing ids is checked against the stub server.)
    assert list_server_models(settings_for(demo_server)) == []


def test_api_key_never_in_logs_or_messages(
    demo_server: Any, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAVERICK_TEST_KEY", SECRET)
    caplog.set_level(logging.DEBUG)
    settings = settings_for(demo_server, api_key_env="MAVERICK_TEST_KEY")
    events, done = ask(settings, [p.ChatTurn("user", "Hi")], sampling=Sampling(max_new_tokens=3))
    assert isinstance(done, p.Done)
    wrong = ServerSettings(settings.base_url, "no-such-model", "MAVERICK_TEST_KEY")
    _, error = ask(wrong, [p.ChatTurn("user", "Hi")], sampling=Sampling(max_new_tokens=3))
    assert isinstance(error, p.Error)
    assert "httpx" in caplog.text or "openai" in caplog.text  # the libraries did log
    assert SECRET not in caplog.text
    assert all(SECRET not in repr(e) for e in [*events, error])
    assert SECRET not in json.dumps(settings.to_dict())
    assert settings.to_dict()["api_key_env"] == "MAVERICK_TEST_KEY"
    engine = ServerEngine(settings)
    assert SECRET not in repr(engine) and "key=set" in repr(engine)
    asyncio.run(engine.aclose())


def test_missing_key_variable_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MAVERICK_UNSET_KEY", raising=False)
    settings = ServerSettings("http://127.0.0.1:9/v1", "m", api_key_env="MAVERICK_UNSET_KEY")
    with pytest.raises(ServerError) as caught:
        settings.api_key()
    assert caught.value.kind == "unauthorized"
    assert "MAVERICK_UNSET_KEY" in caught.value.message


def test_saved_settings_hold_no_key() -> None:
    settings = ServerSettings("http://gpu:8000/v1", "meta-llama/Maverick", "MAVERICK_KEY")
    saved = settings.to_dict()
    assert set(saved) == {
        "base_url", "model", "api_key_env", "timeout_s", "connect_timeout_s",
        # a preset's extras: header *names* and values that are not the key
        "headers", "query", "api_key_header", "max_images", "context_tokens", "preset",
    }  # fmt: skip
    # A key pasted into a settings file by hand is ignored, never carried along.
    loaded = ServerSettings.from_dict({**saved, "api_key": "sk-pasted", "future_field": 1})
    assert loaded == settings
    azure = ServerSettings.from_dict(
        {**saved, "headers": {"X-Title": "Desk"}, "query": {"api-version": "2024-05-01-preview"},
         "api_key_header": "api-key"}
    )  # fmt: skip
    assert azure.to_dict()["headers"] == {"X-Title": "Desk"} and azure.api_key_header == "api-key"
    with pytest.raises(ValueError, match="“headers” must map names to text"):
        ServerSettings.from_dict({**saved, "headers": {"X-Title": 3}})
