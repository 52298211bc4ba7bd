"""Tools through Llama 4's chat template: the RENDERED prompt, and generation with tools."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.inference.engine import ChatMessage, Engine
from app.inference.loader import load_model
from app.inference.template_chat import TOOL_IMAGES_NOTE
from app.vocabulary.sampling import Sampling

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


@pytest.fixture(scope="module")
def engine(demo_bf16: Path) -> Engine:
    return Engine(load_model(demo_bf16))


def test_tools_go_into_the_first_user_message_as_text_not_a_list_repr(engine: Engine) -> None:
    prompt = engine.render_prompt([ChatMessage("user", "  Weather in LA?  ")], [WEATHER])
    assert '"name": "get_weather"' in prompt
    assert "Given the following functions" in prompt
    assert "Weather in LA?<|eot|>" in prompt
    assert "{'type': 'text'" not in prompt
    assert prompt.endswith("<|header_start|>assistant<|header_end|>\n\n")


def test_without_tools_the_prompt_is_unchanged(engine: Engine) -> None:
    prompt = engine.render_prompt([ChatMessage("user", "hello")])
    assert prompt == (
        "<|begin_of_text|><|header_start|>user<|header_end|>\n\nhello<|eot|>"
        "<|header_start|>assistant<|header_end|>\n\n"
    )


def test_first_user_message_keeps_its_images_with_tools(
    engine: Engine, images: dict[str, Path]
) -> None:
    message = ChatMessage("user", "What city is this?", (str(images["wide"]),))
    prompt = engine.render_prompt([message], [WEATHER])
    assert "<|image|>What city is this?<|eot|>" in prompt
    with_tools = engine.prepare([message], tools=[WEATHER])
    without = engine.prepare([message])
    assert with_tools.image_tokens == without.image_tokens > 0
    assert with_tools.prompt_tokens > without.prompt_tokens
    # What the definitions cost, counted once so the context meter can show it apart.
    assert with_tools.tool_tokens == with_tools.prompt_tokens - without.prompt_tokens
    assert without.tool_tokens == 0


def test_tool_call_and_result_turns(engine: Engine, images: dict[str, Path]) -> None:
    messages = [
        ChatMessage("system", "Be brief."),
        ChatMessage("user", "Weather in LA?"),
        ChatMessage(
            "assistant", "", tool_calls=({"name": "get_weather", "arguments": {"city": "LA"}},)
        ),
        ChatMessage("tool", "Sunny, 24 °C", (str(images["tall"]),)),
    ]
    prompt = engine.render_prompt(messages, [WEATHER])
    assert (
        "<|header_start|>system<|header_end|>\n\nEnvironment: ipython\nBe brief.<|eot|>" in prompt
    )
    assert (
        "<|header_start|>assistant<|header_end|>\n\n<|python_start|><|python_end|>"
        '{"name": "get_weather", "parameters": {"city": "LA"}}<|eot|>'
    ) in prompt
    assert '<|header_start|>ipython<|header_end|>\n\n"Sunny, 24 °C"<|eot|>' in prompt
    # The tool's image follows as a user turn the vision model sees.
    assert f"<|header_start|>user<|header_end|>\n\n<|image|>{TOOL_IMAGES_NOTE}<|eot|>" in prompt
    prepared = engine.prepare(messages, tools=[WEATHER])
    assert prepared.image_count == 1 and prepared.image_tokens > 0
    result = engine.generate(
        messages, Sampling(max_new_tokens=4, temperature=0), lambda ids: None, tools=[WEATHER]
    )
    assert result.generated_tokens == 4
