"""gpu-check's extrapolation to Maverick's 48 layers on 8 GPUs, with its arithmetic.

An extrapolation, not a measurement: each kind of layer as measured on one GPU (24
dense, 12 RoPE MoE, 12 NoPE MoE), plus what the rest of the model took there (the
embedding, final norm and lm_head: the whole minus its layers), plus a measured
accelerate hook on each of the 48 layers and 7 measured device hops per forward
(device_map runs the layers in turn, so 8 GPUs add hops, not bandwidth). The compiled
decode step has no accelerate hook inside its graph, so it gets the hops only. Each
figure comes with the sum that made it (`arithmetic`), so a reader can check it.
"""

from __future__ import annotations

from typing import Any

# Maverick's 48 layers by kind: MoE on every other layer, NoPE on every 4th (all MoE).
MAVERICK_LAYERS = {"dense": 24, "moe_rope": 12, "moe_nope": 12}
MAVERICK_HOPS = 7  # device_map="auto" over 8 GPUs: the hidden state moves 7 times a forward


def forward_s(
    per: dict[str, float], here: dict[str, int], measured_s: float, overhead_s: float
) -> tuple[float, str]:
    """Seconds of one forward at 48 layers, and the sum that gives it.

    `per` is each kind's seconds per layer, `here` how many layers of each kind the
    measured forward of `measured_s` had; a kind not measured counts as a RoPE MoE layer.
    """
    rest = max(measured_s - sum(per[k] * here.get(k, 0) for k in per), 0.0)
    terms = []
    total = rest + overhead_s
    for kind, count in MAVERICK_LAYERS.items():
        seconds = per.get(kind, per.get("moe_rope", 0.0))
        total += count * seconds
        terms.append(f"{count} × {seconds * 1e3:.4g} ms ({kind})")
    terms += [f"{overhead_s * 1e3:.4g} ms hooks and hops", f"{rest * 1e3:.4g} ms rest"]
    return total, " + ".join(terms) + f" = {total * 1e3:.4g} ms"


def extrapolate(
    sparse: dict[str, Any],
    dense: dict[str, Any],
    overhead: dict[str, float],
    compiled: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Decode and prefill tokens/s at 48 layers on 8 GPUs, each with its `arithmetic`."""
    result: dict[str, Any] = {
        "note": "an extrapolation from the layers measured on this one GPU, not a measurement",
        "layers": MAVERICK_LAYERS,
        **overhead,
    }
    hops = MAVERICK_HOPS * overhead["hop_s"]
    hooked = sum(MAVERICK_LAYERS.values()) * overhead["hook_s"] + hops
    arithmetic: dict[str, str] = {}
    for name, run in (("sparse", sparse), ("dense", dense)):
        here = run["decode_layer_counts"]
        token_s, sum_text = forward_s(
            run["decode_layer_s"], here, 1 / run["decode_tokens_per_s"], hooked
        )
        key = f"{name}_tokens_per_s_48_layers_8_gpus"
        result[key] = 1 / token_s
        arithmetic[key] = f"1 / ({sum_text}) = {1 / token_s:.4g} tokens/s"
        for prefill in run.get("prefill", []):
            step = prefill["step_tokens"]
            tokens = prefill["prefill_tokens_per_s"] * prefill["prefill_s"]
            forwards = -(-round(tokens) // step)
            took, sum_text = forward_s(
                prefill["prefill_layer_s"], here, prefill["prefill_s"], forwards * hooked
            )
            key = f"{name}_prefill_tokens_per_s_48_layers_8_gpus_step_{step}"
            result[key] = tokens / took
            arithmetic[key] = f"{tokens:.0f} tokens / ({sum_text}) = {tokens / took:.4g} tokens/s"
    if compiled is not None:
        here = compiled["layer_counts"]
        token_s, sum_text = forward_s(
            compiled["decode_layer_s"], here, 1 / compiled["decode_tokens_per_s"], hops
        )
        key = "compiled_tokens_per_s_48_layers_8_gpus"
        result[key] = 1 / token_s
        arithmetic[key] = f"1 / ({sum_text}) = {1 / token_s:.4g} tokens/s"
    result["arithmetic"] = arithmetic
    return result
