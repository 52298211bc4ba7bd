"""Every preset against a scripted provider on 127.0.0.1: the request it gets, the answer it gives.

The provider stands in for the real host: the test keeps the preset's path, headers,
query and model name and only swaps the scheme and host for 127.0.0.1, then checks
what arrived (path, key header, api-version, body with a data-URL image) and that the
app reads the provider's style of stream and its error bodies.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from PIL import Image

from app.engines.openai_client import ServerSettings, ask_server, list_server_models
from app.engines.presets import PRESETS, Preset, preset_named
from app.engines.server_errors import ServerError
from app.vocabulary.sampling import Sampling
from app.workers import protocol as p
from tests.engines.hosted_provider import (
    ANSWER_TEXT,
    Answer,
    Provider,
    chunk,
    error_json,
    running,
)

SECRET = "sk-hosted-5e1f0c2a9b7d4e3f-never-shown"

# What each provider documents, written out here so that a changed preset is noticed.
DOCUMENTED = {
    "together": ("https://api.together.xyz/v1",
                 "meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8", "TOGETHER_API_KEY"),
    "openrouter": ("https://openrouter.ai/api/v1", "meta-llama/llama-4-maverick",
                   "OPENROUTER_API_KEY"),
    "azure": ("https://{resource}.services.ai.azure.com/models",
              "Llama-4-Maverick-17B-128E-Instruct-FP8", "AZURE_INFERENCE_CREDENTIAL"),
    "vercel": ("https://ai-gateway.vercel.sh/v1", "meta/llama-4-maverick", "AI_GATEWAY_API_KEY"),
    "groq": ("https://api.groq.com/openai/v1", "meta-llama/llama-4-maverick-17b-128e-instruct",
             "GROQ_API_KEY"),
    "fireworks": ("https://api.fireworks.ai/inference/v1",
                  "accounts/fireworks/models/llama4-maverick-instruct-basic", "FIREWORKS_API_KEY"),
    "vllm": ("http://127.0.0.1:8000/v1", "meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8", None),
    "sglang": ("http://127.0.0.1:30000/v1",
               "meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8", None),
    "transformers": ("http://127.0.0.1:8000/v1",
                     "meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8", None),
}  # fmt: skip
CONTEXT = {"together": 524_288, "openrouter": 1_048_576, "groq": 131_072, "fireworks": 1_048_576}
STYLE = {"openrouter": "openrouter", "azure": "azure", "groq": "groq"}


def local(preset: Preset, provider: Provider, **extra: Any) -> ServerSettings:
    """The preset's settings with only scheme and host moved to the scripted provider."""
    path = urlsplit(preset.base_url).path
    return preset.settings(base_url=provider.root + path, **extra)


def ask(settings: ServerSettings, turns: list[p.ChatTurn]) -> tuple[str, p.Message]:
    events: list[p.Message] = []
    final = ask_server(
        settings, turns, events.append, sampling=Sampling(max_new_tokens=64, temperature=0.2)
    )
    return "".join(e.text for e in events if isinstance(e, p.Token)), final


def test_the_presets_are_the_documented_ones() -> None:
    assert [preset.name for preset in PRESETS] == list(DOCUMENTED)
    for preset in PRESETS:
        assert (preset.base_url, preset.model, preset.api_key_env) == DOCUMENTED[preset.name]
        assert preset.max_images == 5
        assert preset.hosted == (preset.api_key_env is not None)
    for name, tokens in CONTEXT.items():
        assert preset_named(name).context_tokens == tokens
    azure = preset_named("azure")
    assert azure.api_key_header == "api-key" and dict(azure.query) == {
        "api-version": "2024-05-01-preview"
    }
    assert preset_named("openrouter").optional_headers == ("HTTP-Referer", "X-Title")


def test_placeholders_must_be_filled() -> None:
    azure = preset_named("azure")
    assert azure.placeholders == ("resource",)
    with pytest.raises(ValueError, match=r"needs \{resource\} filled in"):
        azure.settings()
    with pytest.raises(ValueError, match="has no region in its address"):
        azure.settings(resource="mine", region="x")
    settings = azure.settings(resource="mine", model="my-maverick")
    assert settings.base_url == "https://mine.services.ai.azure.com/models"
    assert settings.model == "my-maverick" and settings.preset == "azure"
    with pytest.raises(KeyError, match="the presets are: together, openrouter"):
        preset_named("nope")


@pytest.mark.parametrize("name", list(DOCUMENTED))
def test_each_preset_sends_what_its_provider_expects(
    name: str, images: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    preset = preset_named(name)
    if preset.api_key_env:
        monkeypatch.setenv(preset.api_key_env, SECRET)
    headers = {"HTTP-Referer": "https://example.org/desk", "X-Title": "Maverick Desk"}
    extra = {"headers": headers} if name == "openrouter" else {}
    with running(STYLE.get(name, "plain")) as provider:
        settings = local(preset, provider, **extra)
        turn = p.ChatTurn("user", "What is in this picture?", [str(images["wide"])])
        text, final = ask(settings, [turn])
        models = list_server_models(settings)

    assert isinstance(final, p.Done), final
    assert text == "".join(ANSWER_TEXT)
    assert final.prompt_tokens == 1290 and final.generated_tokens == 3
    assert models == ["served-model"]
    chat, listing = provider.seen
    base_path = urlsplit(DOCUMENTED[name][0]).path
    assert (chat.method, chat.path) == ("POST", f"{base_path}/chat/completions")
    assert (listing.method, listing.path) == ("GET", f"{base_path}/models")
    for seen in (chat, listing):
        if name == "azure":
            assert seen.query == {"api-version": "2024-05-01-preview"}
            assert seen.headers["api-key"] == SECRET and "authorization" not in seen.headers
        else:
            assert seen.query == {}
            expected = SECRET if preset.api_key_env else "no-key"
            assert seen.headers["authorization"] == f"Bearer {expected}"
            assert "api-key" not in seen.headers
        if name == "openrouter":
            assert seen.headers["http-referer"] == "https://example.org/desk"
            assert seen.headers["x-title"] == "Maverick Desk"
    body = chat.json()
    assert body["model"] == DOCUMENTED[name][1] and body["stream"] is True
    content = body["messages"][-1]["content"]
    assert {"type": "text", "text": "What is in this picture?"} in content
    (image,) = [part for part in content if part["type"] == "image_url"]
    url = image["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    decoded = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    with Image.open(images["wide"]) as original:
        assert decoded.size == original.size


def test_more_images_than_the_provider_takes_are_refused_before_sending(
    images: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GROQ_API_KEY", SECRET)
    with running("groq") as provider:
        settings = local(preset_named("groq"), provider)
        turns = [
            p.ChatTurn("user", "First three.", [str(images["wide"])] * 3),
            p.ChatTurn("assistant", "Seen."),
            p.ChatTurn("user", "Three more.", [str(images["tall"])] * 3),
        ]
        _, final = ask(settings, turns)
    assert isinstance(final, p.Error) and final.error_kind == "bad_input"
    assert "sends 6 images" in final.message and "at most 5 per request" in final.message
    assert provider.seen == []


# (preset, the provider's reply, error kind, reason, words the sentence must hold)
HOSTED_ERRORS = [
    ("openrouter",
     Answer(402, error_json(code=402, message="Insufficient credits. Add more using "
                            "https://openrouter.ai/settings/credits")),
     "server_error", "no_credit", ["lack of credit", "Insufficient credits", "Add credit"]),
    ("together",
     Answer(402, error_json(message="Credit limit exceeded", type="credit_limit")),
     "server_error", "no_credit", ["lack of credit", "HTTP 402"]),
    ("groq",
     Answer(429, error_json(message="Rate limit reached for model `meta-llama/llama-4-maverick-"
                            "17b-128e-instruct` on tokens per minute (TPM). Please try again in "
                            "7.66s.", type="tokens", code="rate_limit_exceeded"),
            {"retry-after": "8"}),
     "timeout", "rate_limited", ["rate-limiting", "Try again in 8 s"]),
    ("fireworks",
     Answer(429, error_json(message="Please try again in 2m.", code="RESOURCE_EXHAUSTED")),
     "timeout", "rate_limited", ["Try again in 2 min"]),
    ("vercel",
     Answer(429, error_json(message="Too many requests", type="rate_limit_exceeded"),
            {"retry-after": "Wed, 21 Oct 2099 07:28:00 GMT"}),
     "timeout", "rate_limited", ["rate-limiting", "Try again in"]),
    ("together", Answer(429, error_json(message="rate limit exceeded")),
     "timeout", "rate_limited", ["Try again in a minute or so"]),
    ("groq",
     Answer(413, error_json(message="Request Entity Too Large", type="invalid_request_error",
                            code="request_too_large")),
     "bad_input", "too_large", ["too large", "fewer or smaller images"]),
    ("azure",
     Answer(400, error_json(code="content_filter", status=400, message="The response was "
                            "filtered due to the prompt triggering Azure OpenAI's content "
                            "management policy.")),
     "bad_input", "content_filtered", ["content filter", "rephrase the message"]),
    ("openrouter",
     Answer(403, error_json(code=403, message="Input was flagged for violence",
                            metadata={"reasons": ["violence"], "provider_name": "x"})),
     "bad_input", "content_filtered", ["content filter", "flagged"]),
]  # fmt: skip


@pytest.mark.parametrize(("name", "answer", "kind", "reason", "words"), HOSTED_ERRORS)
def test_hosted_errors_get_their_own_sentence(
    name: str,
    answer: Answer,
    kind: str,
    reason: str,
    words: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    preset = preset_named(name)
    monkeypatch.setenv(str(preset.api_key_env), SECRET)
    with running(STYLE.get(name, "plain")) as provider:
        provider.answer(answer, answer)
        _, final = ask(local(preset, provider), [p.ChatTurn("user", "Hi")])
        # The same reply to Test connection: its ServerError names the precise case.
        with pytest.raises(ServerError) as listing:
            list_server_models(local(preset, provider))
    assert isinstance(final, p.Error), final
    assert final.error_kind == kind == listing.value.kind
    assert listing.value.reason == reason
    for word in words:
        assert word in final.message, final.message
    assert SECRET not in final.message


def test_a_stream_stopped_by_the_content_filter_keeps_its_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AZURE_INFERENCE_CREDENTIAL", SECRET)
    with running("azure") as provider:
        provider.answer(
            Answer(
                events=[
                    chunk("azure", "Once upon "),
                    chunk("azure", None, "content_filter"),
                    "data: [DONE]\n\n",
                ]
            )  # fmt: skip
        )
        text, final = ask(local(preset_named("azure"), provider), [p.ChatTurn("user", "Tell")])
    assert text == "Once upon "
    assert isinstance(final, p.Error) and final.error_kind == "bad_input"
    assert "content filter" in final.message and "The text so far is kept" in final.message


def test_an_error_event_inside_the_stream_gets_the_hosted_sentence(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # OpenRouter keeps the HTTP 200 once streaming and reports a provider failure as an
    # SSE event with the status in `code`.
    monkeypatch.setenv("OPENROUTER_API_KEY", SECRET)
    event = error_json(code=429, message="Rate limit exceeded upstream. Try again in 20s.")
    with running("openrouter") as provider:
        provider.answer(
            Answer(
                events=[
                    ": OPENROUTER PROCESSING\n\n",
                    chunk("openrouter", "Half "),
                    f"data: {event.decode()}\n\n",
                ]
            )  # fmt: skip
        )
        text, final = ask(local(preset_named("openrouter"), provider), [p.ChatTurn("user", "Hi")])
    assert text == "Half "
    assert isinstance(final, p.Error) and final.error_kind == "timeout"
    assert "rate-limiting" in final.message and "Try again in 20 s" in final.message
