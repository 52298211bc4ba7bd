from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from app.inference.checkpoint import inspect_checkpoint
from app.inference.devices import DeviceSpecError, parse_gpu_spec, parse_nvidia_smi
from app.inference.model_size import parameters_from_config
from app.inference.preflight import (
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
    assert fp8.kv_cache_bytes(1000) == 2 * 1000 * 128 + 6 * 256 * 128
    assert fp8.kv_cache_bytes(100) == 8 * 100 * 128
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
    assert result.kv_cache_bytes == 2 * 4096 * 128 + 6 * 256 * 128

    def need(n: int) -> int:  # KV cache plus, on both GPUs, the prompt pass and the sdpa mask
        return 2 * n * 128 + 6 * min(n, 256) * 128 + 2 * (n * memory.prompt_bytes_per_token + n * n)

    n = result.fitting_context
    assert need(n) <= left < need(n + 1)
    assert result.fitting_flex == 65536  # without the mask: the model's own limit
    assert "Fits on 2 × 4 GB GPUs" in result.summary()
    tiny = preflight(memory, parse_gpu_spec("2x2GB"))
    assert not tiny.fits and "Does not fit" in tiny.summary()


def test_maverick_fp8_sparse_context_on_80gb_and_141gb_gpus() -> None:
    memory = model_memory_from_config(MAVERICK_FP8, "Maverick FP8")
    # Per prompt token on each GPU: a dense MLP layer's (5,120 + 4 x 16,384) x 2 bytes or a
    # MoE layer's (8 x 5,120 + 4 x 8,192) x 2 + 12 x 128, whichever is larger.
    assert memory.prompt_bytes_per_token == (8 * H + 4 * I_EXP) * 2 + 12 * E == 148_992
    for gpus, low, high, flex_low in (("8x80GB", 100_000, 110_000, 170_000),
                                      ("8x141GB", 220_000, 240_000, 560_000)):  # fmt: skip
        result = preflight(memory, parse_gpu_spec(gpus))
        left = result.left_bytes

        def need(n: int) -> int:
            kv = 12 * n * 4096 + 36 * min(n, 8192) * 4096
            return kv + 8 * (n * 148_992 + n * n)  # every GPU: MLP activations, sdpa mask

        n = result.context
        assert need(n) <= left < need(n + 1) and low < n < high
        assert flex_low < result.fitting_flex  # without the sdpa mask
        assert "The prompt pass is the limit: 145.5 KiB a prompt token" in result.summary()


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

    def need(n: int) -> int:
        kv = 12 * n * 4096 + 36 * min(n, 8192) * 4096
        prompt = 8 * (n * 2 * E * H * 2 + n * n)  # every GPU: the experts' peak and the sdpa mask
        return kv + prompt

    n = result.context
    assert need(n) <= left < need(n + 1)
    assert 5_000 < n < 20_000
    # The KV cache alone would take the whole 1M-token context.
    assert result.kv_only_context == 1_048_576
    assert left > 12 * 1_048_576 * 4096 + 36 * 8192 * 4096
    summary = result.summary()
    assert summary.startswith("Fits on 8 × 80 GB GPUs with ")
    assert f"about {n:,} tokens of context" in summary and "vLLM" in summary


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
    result = preflight(model_memory_from_config(MAVERICK_FP8), parse_gpu_spec("8x80GB"), 200_000)
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
