"""What a decoded token of Maverick FP8 reads, and what that allows on 8 x H100 (issue 16).

Not a measurement: bytes per token from Maverick's published config, divided by
HBM bandwidth. Assumptions, stated in the results too:

- meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8: 48 layers, hidden 5,120,
  40 query and 8 KV heads of 128, MoE on every other layer (24) with 128 routed
  experts of intermediate 8,192 plus a shared expert of 8,192, dense MLP 16,384 on
  the other 24, vocabulary 202,048; routed experts FP8 (1 byte, per-channel
  scales), everything else bf16 (the release's `ignore` list);
- `device_map="auto"` splits the layers across the GPUs, so one token walks them
  in turn: one GPU's bandwidth at a time, not eight;
- H100 SXM HBM3: 3.35 TB/s, of which a decode step reaches about 70 %;
- the KV cache at short context and the embedding row are left out (small).
"""

from __future__ import annotations

from bench.common import Result

HIDDEN = 5_120
LAYERS = 48
MOE_LAYERS = 24
HEADS, KV_HEADS, HEAD_DIM = 40, 8, 128
EXPERTS = 128
EXPERT_INTER = 8_192
DENSE_INTER = 16_384
VOCAB = 202_048
HBM_BYTES_S = 3.35e12  # H100 SXM
EFFICIENCY = 0.7


def bytes_per_token(experts_read: int) -> float:
    """Weight bytes a decoded token reads when `experts_read` routed experts run per MoE layer."""
    attention = HIDDEN * (HEADS + 2 * KV_HEADS) * HEAD_DIM + HEADS * HEAD_DIM * HIDDEN
    dense_mlp = 3 * HIDDEN * DENSE_INTER
    expert = 3 * HIDDEN * EXPERT_INTER
    router = HIDDEN * EXPERTS
    bf16 = (
        LAYERS * attention
        + (LAYERS - MOE_LAYERS) * dense_mlp
        + MOE_LAYERS * (expert + router)  # the shared expert and the router
        + VOCAB * HIDDEN  # lm_head
    ) * 2
    scales = (2 * EXPERT_INTER + HIDDEN) * 2  # one bf16 scale per output row
    fp8 = MOE_LAYERS * experts_read * (expert + scales)
    return float(bf16 + fp8)


def maverick_results() -> list[Result]:
    sparse, dense = bytes_per_token(1), bytes_per_token(EXPERTS)
    rate = HBM_BYTES_S * EFFICIENCY
    assumptions = (
        "estimate, not measured: Maverick FP8's config (routed experts FP8, the rest bf16), "
        f"device_map layers in turn so one H100's {HBM_BYTES_S / 1e12:.2f} TB/s at "
        f"{EFFICIENCY:.0%}, weights only (short context)"
    )
    return [
        Result(
            "Maverick FP8, weight bytes read per decoded token: sparse (top-1)",
            sparse / 1e9,
            "GB",
            detail=f"dense path: {dense / 1e9:.0f} GB ({dense / sparse:.1f}x); {assumptions}",
        ),
        Result(
            "Maverick FP8 on 8 x H100, decode bound from bandwidth: sparse",
            rate / sparse,
            "tokens/s",
            detail=(
                f"dense path bound {rate / dense:.1f} tokens/s before its 24 x 128 x 3 = 9,216 "
                "small FP8 matmuls a token, which launch-bound it further (1-3 tokens/s); "
                f"vLLM reports about 110-140 tokens/s for one stream; {assumptions}"
            ),
        ),
    ]
