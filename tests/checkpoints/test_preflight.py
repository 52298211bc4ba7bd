from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any

import pytest

from app.checkpoints.checkpoint import inspect_checkpoint
from app.checkpoints.devices import DeviceSpecError, parse_gpu_spec, parse_nvidia_smi
from app.checkpoints.model_size import parameters_from_config
from app.checkpoints.preflight import (
    GIB,
    max_memory_plan,
    model_memory,
    model_memory_from_config,
    preflight,
)

# Llama 4 Maverick's published dimensions.
MAVERICK: dict[str, Any] = {
    "architectures": ["Llama4ForConditionalGeneration"],
    "model_type": "llama4",
    "tie_word_embeddings": False,
    "text_config": {
        "hidden_size": 5120,
        "num_hidden_layers": 48,
        "num_attention_heads": 40,
        "num_key_value_heads": 8,
        "head_dim": 128,
        "vocab_size": 202048,
        "num_local_experts": 128,
        "num_experts_per_tok": 1,
        "interleave_moe_layer_step": 2,
        "intermediate_size": 8192,
        "intermediate_size_mlp": 16384,
        "attention_chunk_size": 8192,
        "max_position_embeddings": 1048576,
        "no_rope_layers": [],
    },
    "vision_config": {
        "hidden_size": 1408,
        "intermediate_size": 5632,
        "num_hidden_layers": 34,
        "patch_size": 14,
        "image_size": 336,
        "num_channels": 3,
        "projector_input_dim": 4096,
        "projector_output_dim": 4096,
        "vision_output_dim": 4096,
    },
}
MAVERICK_FP8 = copy.deepcopy(MAVERICK) | {
    "quantization_config": {"quant_method": "compressed-tensors", "format": "float-quantized"}
}

# By hand, part by part.
H, I_EXP, I_MLP, E, L, V = 5120, 8192, 16384, 128, 48, 202048
ATTN = H * 40 * 128 + 2 * H * 8 * 128 + 40 * 128 * H
ROUTED = 24 * E * 3 * H * I_EXP
SHARED_AND_ROUTER = 24 * (3 * H * I_EXP + E * H)
DENSE = 24 * 3 * H * I_MLP
TEXT = 2 * V * H + L * (ATTN + 2 * H) + H + ROUTED + SHARED_AND_ROUTER + DENSE
HV, IV = 1408, 5632
VISION = (
    34 * (4 * (HV * HV + HV) + 2 * HV * IV + IV + HV + 4 * HV)
    + 3 * 14 * 14 * HV
    + HV
    + 577 * HV
    + 4 * HV  # patches, class, positions, pre/post norms
    + IV * 4096
    + 4096 * 4096  # pixel-shuffle adapter
    + 4096 * H  # projector
)


def test_maverick_parameters_from_config_are_400b_total_and_17b_active() -> None:
    count = parameters_from_config(MAVERICK)
    assert count.total == TEXT + VISION
    assert count.routed == ROUTED
    assert count.vision == VISION
    assert 395e9 < count.total < 405e9
    assert count.active == TEXT - ROUTED + ROUTED // E
    assert 16.5e9 < count.active < 17.5e9


@pytest.mark.parametrize("twin", ["demo_bf16", "demo_fp8"])
def test_config_count_matches_the_headers_of_the_demo(
    twin: str, request: pytest.FixtureRequest
) -> None:
    info = inspect_checkpoint(request.getfixturevalue(twin))
    count = parameters_from_config(info.config)
    assert (count.total, count.active) == (info.total_parameters, info.active_parameters)
    assert info.total_parameters == 997_056


def test_demo_memory_by_hand(demo_bf16: Path, demo_fp8: Path) -> None:
    bf16 = model_memory(inspect_checkpoint(demo_bf16))
    fp8 = model_memory(inspect_checkpoint(demo_fp8))
    # bf16: every parameter 2 bytes. FP8: routed experts 1 byte plus a bf16 scale per row.
    assert bf16.weights_fp8_bytes == bf16.weights_bf16_bytes == 997_056 * 2
    routed = 4 * 8 * 3 * 64 * 96  # 4 MoE layers x 8 experts x 3 Linear of 64 x 96
    scales = 4 * 8 * (96 + 96 + 64) * 2  # one bf16 scale per output row
    assert fp8.weights_fp8_bytes == (997_056 - routed) * 2 + routed + scales
    assert fp8.weights_bf16_bytes == 997_056 * 2
    # 8 layers: 3 of every 4 are chunked (256 tokens); K and V of 2 heads x 16 dims in bf16.
    assert (fp8.full_layers, fp8.chunked_layers, fp8.chunk_size) == (2, 6, 256)
    assert fp8.kv_bytes_per_slot == 2 * 2 * 16 * 2
    # Chunked layers hold at most their window, 8,192 tokens of history and a 512-token chunk.
    assert fp8.kv_cache_bytes(20_000) == 2 * 20_000 * 128 + 6 * (255 + 8192 + 512) * 128
    assert fp8.kv_cache_bytes(1000) == 8 * 1000 * 128
    assert fp8.kv_bytes_per_token == 2 * 128 and fp8.kv_fixed_bytes == 6 * 8959 * 128
    # On 2 GPUs, layers 0-3 and 4-7: each holds one full layer (3 and 7) and 3 chunked.
    assert fp8.kv_cache_bytes(20_000, 2) == 20_000 * 128 + 3 * 8959 * 128
    # Sparse experts: the larger of a dense MLP layer and a MoE layer's gather, scatter and
    # routed + shared intermediates, plus the router's scores; both layouts alike.
    assert fp8.sparse_experts and bf16.sparse_experts
    sparse = max((64 + 4 * 128) * 2, (8 * 64 + 4 * 96) * 2 + 12 * 8)
    assert fp8.prompt_bytes_per_token == bf16.prompt_bytes_per_token == sparse


def test_demo_memory_dense_experts(
    demo_bf16: Path, demo_fp8: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAVERICK_DESK_EXPERTS", "dense")
    bf16 = model_memory(inspect_checkpoint(demo_bf16))
    fp8 = model_memory(inspect_checkpoint(demo_fp8))
    # The compressed experts run one at a time: 2 x experts x hidden x 2 bytes a token.
    assert fp8.prompt_bytes_per_token == 2 * 8 * 64 * 2
    assert bf16.prompt_bytes_per_token == 8 * (64 + 4 * 96) * 2
    assert not fp8.sparse_experts


def test_demo_preflight_on_injected_gpus(demo_fp8: Path) -> None:
    memory = model_memory(inspect_checkpoint(demo_fp8))
    result = preflight(memory, parse_gpu_spec("2x4GB"), context=4096)
    left = 8 * GIB - memory.weights_fp8_bytes - 2 * (2 * GIB + int(4 * GIB * 0.05))
    assert result.fits and result.left_bytes == left
    assert result.kv_cache_bytes == 8 * 4096 * 128

    def need(n: int) -> int:  # each GPU: its half of the layers' KV, and the prompt pass
        kv = n * 128 + 3 * min(n, 8959) * 128
        return 2 * (kv + memory.prompt_pass_bytes(n, "sdpa"))

    # Chunked prefill: the demo's whole 65,536-token context fits in 2 x 4 GB.
    assert result.fitting_context == result.fitting_flex == 65536 and need(65536) <= left
    assert "Fits on 2 × 4 GB GPUs" in result.summary()
    tiny = preflight(memory, parse_gpu_spec("2x2GB"))
    assert not tiny.fits and "Does not fit" in tiny.summary()


def _maverick_gpu_kv(n: int) -> int:
    """The largest KV share of one of 8 GPUs: 6 layers, 2 of them full attention (e.g. 7, 11)."""
    return (2 * n + 4 * min(n, 8191 + 8192 + 512)) * 4096


def test_maverick_prompt_pass_by_hand(monkeypatch: pytest.MonkeyPatch) -> None:
    memory = model_memory_from_config(MAVERICK_FP8, "Maverick FP8")
    # Per prompt token: a dense MLP layer's (5,120 + 4 x 16,384) x 2 bytes or a MoE
    # layer's (8 x 5,120 + 4 x 8,192) x 2 + 12 x 128, whichever is larger.
    assert memory.prompt_bytes_per_token == (8 * H + 4 * I_EXP) * 2 + 12 * E == 148_992
    # The last 512-token chunk of a 1M prompt, with sdpa: boolean masks of 512 x 1M (full)
    # and, the chunked layers attending window by window, 512 x (64 + 512) for the block
    # that continues its window (999,488 = 122 x 8,192 + 64); the additive copy of the full
    # one, 2 bytes a pair; K and V repeated from 8 to 40 heads over 1M keys; 12 x 5,120 x 2
    # bytes a token.
    masks = 512 * (1_000_000 + 576)
    attention = 12 * H * 2 * 512 + 2 * 512 * 1_000_000 + 2 * 1_000_000 * 40 * 128 * 2
    assert memory.prompt_pass_bytes(1_000_000, "sdpa") == masks + attention == 22_079_209_472
    # Over transformers' mask (MAVERICK_DESK_WINDOW_ATTENTION=off) the chunked mask is
    # 512 x (8,191 + 512).
    monkeypatch.setenv("MAVERICK_DESK_WINDOW_ATTENTION", "off")
    masked = model_memory_from_config(MAVERICK_FP8, "Maverick FP8")
    assert masked.prompt_pass_bytes(1_000_000, "sdpa") == 512 * (1_000_000 + 8703) + attention
    assert memory.prompt_pass_bytes(1_000_000, "flex_attention") == 512 * 148_992
    assert memory.kv_cache_bytes(1_000_000, 8) == _maverick_gpu_kv(1_000_000)


def test_maverick_fp8_sparse_context_on_80gb_and_141gb_gpus() -> None:
    memory = model_memory_from_config(MAVERICK_FP8, "Maverick FP8")
    for gpus, attn, expected in (("8x80GB", "sdpa", 894_540),
                                 ("8x80GB", "flex_attention", 1_048_576),
                                 ("8x141GB", "sdpa", 1_048_576)):  # fmt: skip
        result = preflight(memory, parse_gpu_spec(gpus), attn=attn)
        left = result.left_bytes

        def need(n: int) -> int:  # every GPU: its KV share and the whole prompt pass
            return 8 * (_maverick_gpu_kv(n) + memory.prompt_pass_bytes(n, attn))  # noqa: B023

        n = result.context
        assert n == expected and need(n) <= left
        assert n == 1_048_576 or left < need(n + 1)


def test_maverick_fp8_dense_fits_eight_80gb_gpus_with_a_context_computed_by_hand(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MAVERICK_DESK_EXPERTS", "dense")
    memory = model_memory_from_config(MAVERICK_FP8, "Maverick FP8")
    count = parameters_from_config(MAVERICK)
    weights = (count.total - ROUTED) * 2 + ROUTED + 24 * E * (2 * I_EXP + H) * 2
    assert memory.weights_fp8_bytes == weights
    result = preflight(memory, parse_gpu_spec("8x80GB"))
    left = 640 * GIB - weights - 8 * (2 * GIB + 4 * GIB)
    assert result.fits and result.left_bytes == left

    # Every expert on every token of a 512-token chunk: 2 x 128 x 5,120 x 2 bytes a token.
    assert memory.prompt_pass_bytes(1, "flex_attention") == 2 * E * H * 2

    def need(n: int) -> int:
        return 8 * (_maverick_gpu_kv(n) + memory.prompt_pass_bytes(n, "sdpa"))

    n = result.context
    assert need(n) <= left < need(n + 1)
    assert 850_000 < n < 900_000  # chunked prefill: the experts' peak no longer grows with n
    assert result.kv_only_context == 1_048_576
    summary = result.summary()
    assert summary.startswith("Fits on 8 × 80 GB GPUs with ")
    assert f"about {n:,} tokens of context" in summary


def test_bf16_maverick_does_not_fit_and_the_advice_names_the_fp8_checkpoint() -> None:
    result = preflight(model_memory_from_config(MAVERICK), parse_gpu_spec("8x80GB"))
    assert not result.fits and result.left_bytes < 0
    assert "Does not fit on 8 × 80 GB GPUs" in result.summary()
    assert "Llama-4-Maverick-17B-128E-Instruct-FP8" in result.summary()


def test_fp8_on_gpus_without_fp8_matmul_counts_bf16_weights() -> None:
    memory = model_memory_from_config(MAVERICK_FP8)
    result = preflight(memory, parse_gpu_spec("8x80GB@8.0"))
    assert not result.fp8_kernels and result.weights_bytes == memory.weights_bf16_bytes
    assert not result.fits and "FP8 matmuls" in result.summary()


def test_a_long_context_that_does_not_fit_suggests_a_shorter_one() -> None:
    result = preflight(model_memory_from_config(MAVERICK_FP8), parse_gpu_spec("8x80GB"), 1_000_000)
    assert not result.fits
    assert f"--context {result.fitting_context}" in result.summary()
    with pytest.raises(ValueError, match="at most 1,048,576"):
        preflight(model_memory_from_config(MAVERICK_FP8), parse_gpu_spec("8x80GB"), 2_000_000)


def test_gpu_specs() -> None:
    assert [d.free_bytes for d in parse_gpu_spec("8x80GB")] == [80 * GIB] * 8
    mixed = parse_gpu_spec("80GB, 40GiB,512MB")
    assert [d.free_bytes for d in mixed] == [80 * GIB, 40 * GIB, 512 * 1024**2]
    assert all(d.fp8 for d in mixed)
    assert not any(d.fp8 for d in parse_gpu_spec("2x80GB@8.0"))
    for bad in ("eight GPUs", "8x80PB", "0x80GB", ""):
        with pytest.raises(DeviceSpecError):
            parse_gpu_spec(bad)


def test_nvidia_smi_rows() -> None:
    rows = "0, NVIDIA H100 80GB HBM3, 80511, 9.0\n1, NVIDIA A100-SXM4-80GB, 1024, 8.0\n"
    h100, a100 = parse_nvidia_smi(rows)
    assert h100.free_bytes == 80511 * 1024**2 and h100.fp8
    assert a100.free_bytes == GIB and not a100.fp8 and a100.name.startswith("cuda:1 ")


def test_max_memory_spreads_the_weights_and_keeps_the_margin() -> None:
    plan = max_memory_plan([80 * GIB] * 8, 400 * GIB, 16 * GIB)
    assert plan == dict.fromkeys(range(8), 50 * GIB + 16 * GIB)
    small = max_memory_plan([10 * GIB, 80 * GIB], 60 * GIB, GIB)
    assert small[0] == 10 * GIB - 2 * GIB - int(10 * GIB * 0.05)
    assert small[1] == 31 * GIB


def test_the_compiled_decode_steps_static_cache_is_counted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Compiled decoding keeps the full layers' keys and values once more, for a power of
    two of positions, and one chunk per chunked layer: the preflight counts them."""
    monkeypatch.setenv("MAVERICK_DESK_COMPILE", "decode")
    memory = model_memory_from_config(MAVERICK_FP8, "Maverick FP8")
    assert memory.static_decode
    eager = dataclasses.replace(memory, static_decode=False)
    # The busiest of 8 GPUs holds 6 layers, 2 of them full: 600,000 tokens take 2**20 slots.
    extra = memory.kv_cache_bytes(600_000, 8) - eager.kv_cache_bytes(600_000, 8)
    assert extra == (2 * 1_048_576 + 4 * 8192) * memory.kv_bytes_per_slot
    assert preflight(memory, parse_gpu_spec("8x80GB"), attn="sdpa").context == 605_635
    monkeypatch.setenv("MAVERICK_DESK_COMPILE", "off")
    assert not model_memory_from_config(MAVERICK_FP8, "Maverick FP8").static_decode
