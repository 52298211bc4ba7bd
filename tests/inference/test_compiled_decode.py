"""The compiled decode step: same greedy tokens as `generate`, the prompt cache, the setting.

Compiling costs about a minute of this machine's CPU, so one module-scoped load
compiles (its self-check included) and every other test here runs without compiling.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from torch._dynamo.utils import counters

from app.checkpoints.compile_mode import COMPILE_ENV, EAGER_LABEL, CompileModeError, compile_mode
from app.checkpoints.memory_model import cache_capacity
from app.inference.compiled_decode import (
    DecodeStep,
    prefill_logits,
    prepare_decode,
    self_check,
)
from app.inference.engine import ChatMessage, Engine
from app.inference.loader import LoadedModel, load_model
from app.inference.prompt_cache import PromptCache, new_cache
from app.inference.static_cache import decode_masks
from app.vocabulary.sampling import Sampling

GREEDY = Sampling(max_new_tokens=12, temperature=0.0)
# 764 prompt tokens: the cache keeps 512 of them exact, the 12 decoded tokens cross the
# demo's attention-chunk boundary at 768, and all fit the self-check's 1,024-position cache.
ASK = "Compare the two tables on this page, row by row. " * 26 + "Please go on now, thanks."
FIRST = [ChatMessage("user", ASK)]
FOLLOW_UP = [
    *FIRST,
    ChatMessage("assistant", "The second table has more rows."),
    ChatMessage("user", "Which row differs most?"),
]


@pytest.fixture(scope="module")
def eager(demo_bf16: Path) -> LoadedModel:
    return load_model(demo_bf16)  # tests/conftest.py sets MAVERICK_DESK_COMPILE=off


@pytest.fixture(scope="module")
def compiled(demo_bf16: Path) -> LoadedModel:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(COMPILE_ENV, "decode")
        return load_model(demo_bf16)


def test_compiled_step_decodes_like_generate_and_keeps_the_prompt_cache_exact(
    compiled: LoadedModel, eager: LoadedModel
) -> None:
    assert compiled.decode.startswith("compiled decode step"), compiled.warnings
    step = compiled.decode_step
    assert step is not None and step.compiled
    reference = Engine(eager, prompt_cache=PromptCache(max_entries=0))
    cold = Engine(compiled, prompt_cache=PromptCache(max_entries=0))
    # The demo's random weights give logits within about 0.5 of each other, and the fused
    # kernels round bf16 differently from eager (below): a near-tie flips now and then.
    # Of 8 prompts tried, 5 gave the same 12 tokens and 3 differed after 5 to 11 tokens;
    # FIRST differs at its second token. This one agrees, across the chunk boundary at 512.
    short = [ChatMessage("user", "Hello there, " * 70)]
    tokens = cold.generate(short, GREEDY, lambda ids: None)
    assert tokens.prompt_tokens == 509
    assert tokens.token_ids == reference.generate(short, GREEDY, lambda ids: None).token_ids

    # The follow-up takes the prompt's exact 512 positions from the kept DynamicCache and
    # decodes the tokens a cold prefill decodes.
    warm = Engine(compiled, prompt_cache=PromptCache())
    warm.generate(FIRST, GREEDY, lambda ids: None)
    again = warm.generate(FOLLOW_UP, GREEDY, lambda ids: None)
    assert again.cached_prompt_tokens == 512
    assert again.token_ids == cold.generate(FOLLOW_UP, GREEDY, lambda ids: None).token_ids

    # Freeing the memory drops the static cache; a new one at the same size compiles nothing.
    graphs = counters["stats"]["unique_graphs"]
    assert cold.free_memory() > 0
    assert cold.generate(short, GREEDY, lambda ids: None).token_ids == tokens.token_ids
    assert counters["stats"]["unique_graphs"] == graphs

    # One step's logits: the eager step over the static cache equals a prefill of that
    # token exactly; the compiled one differs by bf16 rounding only.
    model: Any = compiled.model
    with torch.inference_mode():  # as in the engine: another tensor kind would recompile
        ids = torch.tensor([cold.prepare(FIRST, use_cache=False).ids])
        dynamic = new_cache(model.config)
        prefill_logits(model, ids[:, :-1], dynamic, 0)
        logits = []
        for runner in (step, DecodeStep(model, compiled=False)):
            cache = runner.cache_for(1000)
            cache.fill(dynamic, ids.shape[1] - 1)
            token = torch.tensor([[int(ids[0, -1])]])  # as the engine makes it: strides (1, 1)
            logits.append(runner._fn(token, torch.tensor(ids.shape[1] - 1), cache))
        exact = prefill_logits(model, ids, dynamic, ids.shape[1] - 1)
    assert counters["stats"]["unique_graphs"] == graphs
    assert torch.equal(logits[1], exact)
    assert float((logits[0].float() - exact.float()).abs().max()) < 0.02  # bf16 eps: 0.0078


def test_off_runs_transformers_generate(
    eager: LoadedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert eager.decode_step is None
    assert eager.decode == f"{EAGER_LABEL}, {COMPILE_ENV}=off"
    calls: list[int] = []
    model: Any = eager.model
    original = model.generate

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(model, "generate", counted)
    result = Engine(eager).generate(FIRST[:1], GREEDY, lambda ids: None)
    assert calls == [1] and result.generated_tokens == GREEDY.max_new_tokens


def test_self_check_names_the_tokens_that_differ(eager: LoadedModel) -> None:
    step = DecodeStep(eager.model, compiled=False)
    assert self_check(eager.model, step) is None  # the static cache itself is exact
    exact = step._fn
    step._fn = lambda token, position, cache: -exact(token, position, cache)
    reason = self_check(eager.model, step)
    assert reason is not None and "where generate gives" in reason


def test_a_model_the_step_cannot_serve_keeps_generate_and_says_why(
    demo_bf16: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = load_model(demo_bf16, attn_implementation="eager")
    plan = prepare_decode(loaded.model, {COMPILE_ENV: "decode"})
    assert plan.step is None
    assert plan.warnings == [
        f"The decode step runs uncompiled ({EAGER_LABEL}): the compiled step builds sdpa "
        "masks, and the model runs eager attention."
    ]


def test_unknown_setting_is_refused_with_a_sentence() -> None:
    assert compile_mode({}) is None
    assert compile_mode({COMPILE_ENV: " Decode "}) == "decode"
    with pytest.raises(CompileModeError, match="use 'decode'"):
        compile_mode({COMPILE_ENV: "fast"})


def test_chunked_masks_see_only_the_current_chunk() -> None:
    masks = decode_masks(torch.tensor(770), max_cache_len=1024, chunk=256)
    assert int(masks["full_attention"].sum()) == 771
    chunked = masks["chunked_attention"].view(-1)
    assert chunked[:3].tolist() == [True, True, True] and not bool(chunked[3:].any())
    assert [cache_capacity(n) for n in (10, 1024, 1025, 5000)] == [1024, 1024, 2048, 8192]


def test_sampled_and_constrained_answers_run_through_the_compiled_step(
    compiled: LoadedModel, eager: LoadedModel
) -> None:
    engine = Engine(compiled, prompt_cache=PromptCache(max_entries=0))
    reference = Engine(eager, prompt_cache=PromptCache(max_entries=0))
    short = [ChatMessage("user", "Hello there, " * 70)]
    seeded = Sampling(max_new_tokens=8, temperature=0.8, top_p=0.9, seed=3)
    # Over the static cache without compiling, the sampler draws what generate draws
    # (temperature, generate's default top-k of 50, top-p, in its order, one multinomial).
    sampled = reference.generate(short, seeded, lambda ids: None).token_ids
    reference._decode_step = DecodeStep(eager.model, compiled=False)
    assert reference.generate(short, seeded, lambda ids: None).token_ids == sampled
    # Compiled, the probabilities differ by bf16 rounding, so a draw near the edge between
    # two tokens may pick the other one; a seed still gives the same answer every time.
    fast = engine.generate(short, seeded, lambda ids: None).token_ids
    assert fast == engine.generate(short, seeded, lambda ids: None).token_ids
    assert fast != engine.generate(short, GREEDY, lambda ids: None).token_ids[:8]

    schema = {
        "type": "object",
        "properties": {"ok": {"type": "boolean"}},
        "required": ["ok"],
        "additionalProperties": False,
    }
    budget = Sampling(max_new_tokens=40, temperature=0.0)
    answer = engine.generate(short, budget, lambda ids: None, json_schema=schema)
    assert answer.finish_reason == "stop"
    text = engine.decoder()
    assert json.loads(text.push(answer.token_ids) + text.flush()) in ({"ok": True}, {"ok": False})
