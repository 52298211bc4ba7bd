"""Grouped expert matmuls: no host sync, the per-expert dispatch's output, and honest fallbacks.

The equality with transformers' dense path on the demo, its FP8 twin and the wide
demo is in `test_sparse_experts.py`, which now runs the grouped path by default.
"""

from __future__ import annotations

import logging
import types
from typing import Any

import pytest
import torch
from torch import nn
from transformers.models.llama4.modeling_llama4 import Llama4TextMoe

from app.generators.demo_wide import build_wide, wide_sizes
from app.inference import grouped_experts
from app.inference.grouped_experts import fp8_grouped_mlp, plan_per_expert
from app.inference.host_syncs import HostSyncs
from app.inference.sparse_experts import apply_sparse_experts, is_grouped, is_sparse
from tests.inference.fp8_layers import fp8_moe


def _moes(model: nn.Module) -> list[Any]:
    return [m for m in model.modules() if type(m).__name__ == "Llama4TextMoe"]


def _tokens(count: int, hidden: int, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(1, count, hidden, generator=gen).to(torch.bfloat16)


def test_grouped_forward_reads_nothing_on_the_host_and_matches_the_loop() -> None:
    grouped, _ = build_wide()
    loop, _ = build_wide()  # the same seed: the same weights
    assert apply_sparse_experts(grouped, "sparse").grouped_layers == 2
    report = apply_sparse_experts(loop, "loop")
    assert report.grouped_layers == 0 and report.label.endswith("fused bf16 experts)")
    for moe_g, moe_l in zip(_moes(grouped), _moes(loop), strict=True):
        assert is_grouped(moe_g) and is_sparse(moe_l) and not is_grouped(moe_l)
        for count in (1, 300):  # a decoded token, a prompt chunk
            hidden = _tokens(count, moe_g.hidden_dim, seed=count)
            with torch.inference_mode(), HostSyncs() as syncs:
                out, logits = moe_g(hidden)
            assert syncs.total == 0, syncs.counts
            with torch.inference_mode(), HostSyncs() as loop_syncs:
                expected, expected_logits = moe_l(hidden)
            assert loop_syncs.total >= 1  # the counter sees the loop's int() / tolist()
            assert torch.equal(logits, expected_logits)
            assert torch.equal(out, expected)


def _fp8_moe(hidden: int = 64, inter: int = 96, experts: int = 8) -> Llama4TextMoe:
    """A Llama 4 MoE layer whose experts are per-expert FP8 Linear modules, as on a GPU."""
    model, _ = build_wide()
    config = model.config.get_text_config()
    config.num_local_experts, config.hidden_size, config.intermediate_size = experts, hidden, inter
    return fp8_moe(config)


def test_fp8_experts_without_the_kernel_keep_the_loop_and_say_why(
    caplog: pytest.LogCaptureFixture,
) -> None:
    holder = nn.Sequential(_fp8_moe())
    with caplog.at_level(logging.WARNING, logger="app.inference.sparse_experts"):
        report = apply_sparse_experts(holder, "sparse")
    assert report.sparse_layers == 1 and report.grouped_layers == 0
    layout = "per-expert CompressedTensorsFP8Linear experts"
    assert report.label == f"sparse top-1 (1 of 1 MoE layers, {layout})"
    assert "MoE layer 0 keeps the per-expert dispatch: FP8 experts on cpu" in caplog.text
    assert report.kept_loop and "needs a CUDA GPU" in report.kept_loop[0]


def test_fp8_stacking_keeps_each_expert_and_makes_well_formed_scaled_grouped_calls(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The FP8 kernel cannot run here: check the stacking on the CPU and the calls on meta."""
    moe = _fp8_moe(hidden=64, inter=96)
    tokens = _tokens(5, 64, seed=5)[0]
    with torch.inference_mode():
        before = [mlp(tokens) for mlp in moe.experts]
    monkeypatch.setattr(grouped_experts, "fp8_unavailable", lambda device: "")
    plan, reason = plan_per_expert(moe.experts)
    assert plan is not None and reason == "" and plan.gate_up_scale is not None
    assert plan.label == "scaled grouped matmul over stacked FP8 experts"
    assert tuple(plan.gate_up.shape) == (8, 64, 192) and tuple(plan.down.shape) == (8, 96, 64)
    assert plan.gate_up.stride()[-2:] == (1, 64)  # column-major, as the kernel wants
    assert tuple(plan.gate_up_scale.shape) == (8, 192)
    with torch.inference_mode():
        after = [mlp(tokens) for mlp in moe.experts]  # the Linear modules now hold views
    assert all(torch.equal(a, b) for a, b in zip(after, before, strict=True))
    assert moe.experts[3].up_proj.weight.data_ptr() == plan.gate_up[3, :, 96:].data_ptr()

    meta = grouped_experts.GroupedExperts(
        plan.gate_up.to("meta"),
        plan.down.to("meta"),
        plan.act,
        plan.label,
        plan.gate_up_scale.to("meta"),
        plan.down_scale.to("meta") if plan.down_scale is not None else None,
    )
    offsets = torch.tensor([0, 2, 2, 3, 3, 3, 5, 5], dtype=torch.int32, device="meta")
    out = fp8_grouped_mlp(meta, tokens.to("meta"), offsets)
    assert out.shape == (5, 64) and out.dtype == torch.bfloat16
    # The whole layer on meta: a meta tensor has no value to read, so any host sync raises.
    moe.to("meta")
    moe._grouped = meta
    forward = types.MethodType(grouped_experts.grouped_forward, moe)
    with torch.inference_mode(), HostSyncs() as syncs:
        routed, logits = forward(tokens.to("meta"))
    assert routed.shape == (5, 64) and logits.shape == (5, 8) and syncs.total == 0


def test_widths_the_kernel_cannot_take_keep_the_loop(caplog: pytest.LogCaptureFixture) -> None:
    # 100 bf16 values are 200 bytes, not a multiple of 16: the grouped kernels refuse that stride.
    model, tokenizer = build_wide(wide_sizes(intermediate=100))
    ids = tokenizer("A prompt for the unaligned layers.", return_tensors="pt").input_ids
    with torch.inference_mode():
        dense = model(ids).logits
    with caplog.at_level(logging.WARNING, logger="app.inference.sparse_experts"):
        report = apply_sparse_experts(model, "sparse")
    assert report.sparse_layers == 2 and report.grouped_layers == 0
    assert "MoE layer 1 keeps the per-expert dispatch: widths (100, 64) are not multiples" in (
        caplog.text
    )
    assert report.label == "sparse top-1 (2 of 2 MoE layers, fused bf16 experts)"
    with torch.inference_mode():
        assert torch.equal(model(ids).logits, dense)


def test_a_grouped_path_that_differs_keeps_the_loop(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    model, _ = build_wide()

    def wrong(sorted_experts: torch.Tensor, num_experts: int) -> torch.Tensor:
        # Every token in the first expert's group: what a broken kernel or offset would do.
        count = sorted_experts.numel()
        return torch.full((num_experts,), count, dtype=torch.int32)

    monkeypatch.setattr(grouped_experts, "group_offsets", wrong)
    with caplog.at_level(logging.WARNING, logger="app.inference.sparse_experts"):
        report = apply_sparse_experts(model, "sparse")
    assert report.sparse_layers == 2 and report.grouped_layers == 0
    assert "the grouped output differs from the per-expert dispatch's" in caplog.text
    assert all(is_sparse(m) and not is_grouped(m) for m in _moes(model))
