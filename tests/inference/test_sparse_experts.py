"""Sparse expert dispatch: the same tokens as transformers' dense path, and only when it fits."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from app.checkpoints.experts_mode import DENSE_LABEL, EXPERTS_ENV, ExpertsModeError, experts_mode
from app.generators.demo_wide import build_wide
from app.inference.engine import ChatMessage, Engine
from app.inference.loader import load_model
from app.inference.sparse_experts import apply_sparse_experts, is_sparse
from app.vocabulary.sampling import Sampling

GREEDY = Sampling(max_new_tokens=24, temperature=0.0)


def _moes(model: nn.Module) -> list[Any]:
    return [m for m in model.modules() if type(m).__name__ == "Llama4TextMoe"]


@contextmanager
def _expert_calls(model: nn.Module) -> Iterator[list[int]]:
    """Count calls of the expert modules: the fused experts block or each expert MLP."""
    calls = [0]

    def count(*args: Any) -> None:
        calls[0] += 1

    handles = []
    for moe in _moes(model):
        targets = list(moe.experts) if isinstance(moe.experts, nn.ModuleList) else [moe.experts]
        for module in targets:
            handles.append(module.register_forward_hook(count))
    try:
        yield calls
    finally:
        for handle in handles:
            handle.remove()


def _run(engine: Engine, messages: list[ChatMessage]) -> list[int]:
    return engine.generate(messages, GREEDY, lambda ids: None).token_ids


def _forced(engine: Engine, messages: list[ChatMessage]) -> list[int]:
    """Greedy tokens with the end token held off, so every case runs the full length.

    Where the demo's random weights end an answer early depends on the CPU's bf16 kernels
    (CI's machine ended one after a few tokens, this one ran all of them).
    """
    tensors = _model_inputs(engine, messages)
    n = GREEDY.max_new_tokens
    with torch.inference_mode():
        out = engine.loaded.model.generate(
            **tensors, do_sample=False, max_new_tokens=n, min_new_tokens=n
        )
    return [int(t) for t in out[0, tensors["input_ids"].shape[1] :]]


def _model_inputs(engine: Engine, messages: list[ChatMessage]) -> dict[str, Any]:
    """The whole prompt as the model's own forward takes it: token ids and every image."""
    prepared = engine.prepare(messages, use_cache=False)
    tensors = dict(prepared.tensors)
    if prepared.pixels:
        tensors["pixel_values"] = torch.cat(prepared.pixels)
    return tensors


def _logits(engine: Engine, messages: list[ChatMessage]) -> torch.Tensor:
    with torch.inference_mode():
        return engine.loaded.model(**_model_inputs(engine, messages)).logits.float()


@pytest.mark.parametrize("precision", ["bf16", "fp8"])
def test_same_greedy_tokens_and_logits_as_dense(
    precision: str,
    demo_root: Path,
    images: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(EXPERTS_ENV, "dense")
    engine = Engine(load_model(demo_root / precision))
    model = engine.loaded.model
    assert engine.loaded.experts == DENSE_LABEL and not any(is_sparse(m) for m in _moes(model))
    text_only = [ChatMessage("user", "Describe the chart and summarise the table.")]
    with_images = [
        ChatMessage("user", "What is in these?", (str(images["wide"]), str(images["tall"])))
    ]
    cases = (text_only, with_images)
    with _expert_calls(model) as dense_calls:
        expected = [_run(engine, messages) for messages in cases]
        forced = [_forced(engine, messages) for messages in cases]
        logits = _logits(engine, with_images)
    assert all(len(tokens) == GREEDY.max_new_tokens for tokens in forced)

    report = apply_sparse_experts(model, "sparse")
    layout = "fused bf16" if precision == "bf16" else "stacked bf16 Linear"
    assert report.label == f"sparse top-1 (4 of 4 MoE layers, grouped matmul over {layout} experts)"
    with _expert_calls(model) as sparse_calls:
        assert [_run(engine, messages) for messages in cases] == expected
        assert [_forced(engine, messages) for messages in cases] == forced
        sparse_logits = _logits(engine, with_images)
    assert (sparse_logits - logits).abs().max() <= 2e-2 * logits.abs().max()
    # Dense runs every expert for every forward; the grouped path calls no expert module.
    assert dense_calls[0] > 0 and sparse_calls[0] == 0


def test_default_load_runs_sparse(demo_fp8: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(EXPERTS_ENV, raising=False)
    loaded = load_model(demo_fp8)
    assert loaded.experts == (
        "sparse top-1 (4 of 4 MoE layers, grouped matmul over stacked bf16 Linear experts)"
    )
    assert all(is_sparse(m) for m in _moes(loaded.model))


def test_unknown_mode_is_refused_before_loading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(EXPERTS_ENV, "fast")
    with pytest.raises(ExpertsModeError, match="use 'sparse'"):
        load_model(tmp_path / "no such folder")
    assert experts_mode({EXPERTS_ENV: " Dense "}) == "dense"
    assert experts_mode({EXPERTS_ENV: "loop"}) == "loop"
    assert experts_mode({}) == "sparse"


@pytest.fixture(scope="module")
def wide() -> tuple[Any, Any]:
    return build_wide()


def test_wide_128_experts_same_tokens(wide: tuple[Any, Any]) -> None:
    model, tokenizer = wide
    prompt = "The quick brown fox jumps over the lazy dog; " * 4 + "and then"
    ids = tokenizer(prompt, return_tensors="pt").input_ids
    greedy = {"max_new_tokens": 32, "do_sample": False, "pad_token_id": tokenizer.pad_token_id}
    with torch.inference_mode():
        dense = model.generate(ids, **greedy)
        dense_logits = model(ids).logits.float()
    report = apply_sparse_experts(model, "sparse")
    assert report.sparse_layers == report.moe_layers == report.grouped_layers == 2
    chosen: list[torch.Tensor] = []
    hooks = [
        moe.router.register_forward_hook(lambda mod, args, out: chosen.append(out[1].argmax(dim=1)))
        for moe in _moes(model)
    ]
    with torch.inference_mode():
        sparse_logits = model(ids).logits.float()
        for hook in hooks:
            hook.remove()
        sparse = model.generate(ids, **greedy)
    assert torch.equal(sparse, dense)
    assert (sparse_logits - dense_logits).abs().max() <= 2e-2 * dense_logits.abs().max()
    # The prompt exercises both edge cases of the gather: shared and unused experts.
    for layer in chosen:
        counts = torch.bincount(layer, minlength=128)
        assert int(counts.max()) >= 2 and int((counts == 0).sum()) > 0


class _Wrapped(nn.Module):
    """Experts of a class the dispatch does not know; it runs them the stock way."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.inner(hidden)  # type: ignore[no-any-return]


def test_unexpected_shape_keeps_dense_and_says_so(
    demo_bf16: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(EXPERTS_ENV, "dense")
    engine = Engine(load_model(demo_bf16))
    model = engine.loaded.model
    messages = [ChatMessage("user", "Tell me about the weather.")]
    expected = _run(engine, messages)
    moes = _moes(model)
    moes[0].experts = _Wrapped(moes[0].experts)
    # A transposed expert weight: square layers would hide it, 96 vs 64 does not.
    down = moes[1].experts.down_proj
    moes[1].experts.down_proj = nn.Parameter(down.data.transpose(1, 2).contiguous())
    with caplog.at_level(logging.WARNING, logger="app.inference.sparse_experts"):
        report = apply_sparse_experts(model, "sparse")
    assert report.sparse_layers == 2 and len(report.fallbacks) == 2
    assert report.label.endswith("; 2 kept dense)")
    assert "_Wrapped is not" not in caplog.text and "experts are _Wrapped" in caplog.text
    assert "do not match" in caplog.text
    assert not is_sparse(moes[0]) and not is_sparse(moes[1]) and is_sparse(moes[2])
    moes[1].experts.down_proj = down
    assert _run(engine, messages) == expected


def test_dense_mode_changes_nothing() -> None:
    model, _tokenizer = build_wide()
    report = apply_sparse_experts(model, "dense")
    assert report.label == DENSE_LABEL and report.moe_layers == 2 and report.sparse_layers == 0
    assert not any(is_sparse(m) for m in _moes(model))


def test_device_hooks_of_device_map_stay_in_front() -> None:
    """With device_map, accelerate wraps forward and calls `_old_forward`: that is replaced."""
    from accelerate.hooks import ModelHook, add_hook_to_module

    class Counting(ModelHook):  # type: ignore[misc]
        calls = 0

        def pre_forward(self, module: Any, *args: Any, **kwargs: Any) -> Any:
            Counting.calls += 1
            return args, kwargs

    model, tokenizer = build_wide()
    moe = _moes(model)[0]
    add_hook_to_module(moe, Counting())
    ids = tokenizer("A prompt for the hooked layer.", return_tensors="pt").input_ids
    with torch.inference_mode():
        dense = model(ids).logits
    assert Counting.calls == 1
    apply_sparse_experts(model, "sparse")  # its probes pass the hook too, six times
    with _expert_calls(model) as calls, torch.inference_mode():
        sparse = model(ids).logits
    assert is_sparse(moe) and calls[0] == 0 and Counting.calls == 8
    assert torch.equal(sparse, dense)


def test_a_stock_forward_that_changed_keeps_dense(caplog: pytest.LogCaptureFixture) -> None:
    """If transformers' MoE arithmetic changes, the probe tokens catch it: stock path kept."""
    model, _tokenizer = build_wide()
    moe = _moes(model)[1]
    stock = moe.forward

    def changed(hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out, logits = stock(hidden)
        return out * 1.5, logits  # e.g. a release that scales the experts' outputs instead

    moe.forward = changed
    with caplog.at_level(logging.WARNING, logger="app.inference.sparse_experts"):
        report = apply_sparse_experts(model, "sparse")
    assert report.sparse_layers == 1 and not is_sparse(moe) and is_sparse(_moes(model)[0])
    assert "MoE layer 1 keeps transformers' dense path: the sparse output differs" in caplog.text
    assert moe.forward is changed  # put back as it was
