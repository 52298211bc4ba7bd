"""The sampling vocabulary: one rule set, and what each edge is handed (no worker, no Qt)."""

from __future__ import annotations

import argparse

import pytest

from app.cli import ask_sampling
from app.local_api.chat_request import ApiError, RequestLimits, parse_chat_request
from app.vocabulary.sampling import Sampling


def test_the_rules_name_the_setting_as_the_user_knows_it() -> None:
    assert Sampling().problem() is None
    assert Sampling(repetition_penalty=1.3).problem() is None
    for bad in (0.0, -1.0, 2.5, float("nan")):
        sentence = Sampling(repetition_penalty=bad).problem()
        assert (
            sentence == "Repetition penalty must be greater than 0 and at most 2 (1 turns it off)."
        )
    flags = Sampling(repetition_penalty=0).problem(ask_sampling.FLAGS)
    assert str(flags).startswith("--repetition-penalty must be greater than 0")


def test_each_engine_is_handed_the_penalty_only_when_it_is_on() -> None:
    off, on = Sampling(), Sampling(repetition_penalty=1.2)
    assert "repetition_penalty" not in off.server_params()[1]
    assert on.server_params()[1] == {"repetition_penalty": 1.2}  # vLLM's extra_body
    assert off.generate_kwargs(sampling=False)["repetition_penalty"] is None
    assert on.generate_kwargs(sampling=False)["repetition_penalty"] == 1.2  # greedy too
    # Saved with the answer; a conversation saved before it reads as off.
    assert on.to_dict()["repetition_penalty"] == 1.2
    assert Sampling.from_dict({"top_p": 0.5}).repetition_penalty == 1.0


def test_ask_has_a_flag_for_it() -> None:
    parser = argparse.ArgumentParser()
    ask_sampling.add_arguments(parser)
    args = parser.parse_args(["--repetition-penalty", "1.15"])
    assert ask_sampling.sampling_of(args).repetition_penalty == 1.15
    assert ask_sampling.problem(parser.parse_args(["--repetition-penalty", "3"])) is not None


def _asked(**fields: object) -> dict[str, object]:
    return {"model": "m", "messages": [{"role": "user", "content": "Hi"}], **fields}


def test_the_local_api_reads_it_from_the_body_as_vllm_does() -> None:
    asked = parse_chat_request(_asked(repetition_penalty=1.1), RequestLimits())
    assert asked.extra == {"repetition_penalty": 1.1}
    for bad in (0, -2, 9, "1.1", True):
        with pytest.raises(ApiError) as refused:
            parse_chat_request(_asked(repetition_penalty=bad), RequestLimits())
        assert refused.value.status == 400
        assert str(refused.value) == (
            "`repetition_penalty` must be greater than 0 and at most 2 (1 turns it off)."
        )


def test_a_server_engine_sends_it_in_the_body_as_vllm_reads_it() -> None:
    from app.engines.openai_client import ServerSettings, ask_server
    from app.workers import protocol as p
    from tests.scripted_openai import scripted_server, text_reply

    with scripted_server() as (state, url):
        state.replies += [text_reply("Hi."), text_reply("Hi.")]
        turns = [p.ChatTurn("user", "Hi")]
        ask_server(
            ServerSettings(url, "m"), turns, lambda e: None, Sampling(repetition_penalty=1.2)
        )
        ask_server(ServerSettings(url, "m"), turns, lambda e: None, Sampling())
    assert state.bodies[0]["repetition_penalty"] == 1.2
    assert "repetition_penalty" not in state.bodies[1]  # off: the server's own default stands
