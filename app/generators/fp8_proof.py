"""Evidence that FP8 experts are FP8: on disk, in memory and in the kernels that run.

`scripts/gpu-check.sh` exits 1 unless all of it holds (`app.generators.gpu_check`):

- **checkpoint**: every routed expert weight in the safetensors headers is FP8 (a
  checkpoint whose experts were dequantised to bf16 fails here, on any machine);
- **loaded** (where FP8 matmuls exist, compute capability 8.9+): every routed expert
  module's weight is a float8 tensor, and a profiler running one MoE layer forward saw
  `aten::_scaled_mm` (the FP8 matmul), with the CUDA kernel names it launched;
- **memory**: what is allocated after loading is within 10 % of the FP8 size that
  preflight computes from the headers.

On a CPU the loader dequantises FP8 by design (no FP8 matmul), so only the checkpoint
part applies there; the report says so.
"""

from __future__ import annotations

import re
from typing import Any

from app.checkpoints.checkpoint import CheckpointInfo

# Routed experts: per-expert Linear modules (compressed-tensors) or fused tensors (bf16).
_ROUTED = re.compile(r"\.feed_forward\.experts\.(\d+\.\w+_proj\.weight|gate_up_proj|down_proj)$")
MEMORY_TOLERANCE = 0.10


def checkpoint_experts(info: CheckpointInfo) -> dict[str, Any]:
    """Whether every routed expert weight in the checkpoint's headers is FP8."""
    routed = [t for t in info.tensors if _ROUTED.search(t.name)]
    other = [t for t in routed if not t.dtype.startswith("F8")]
    result: dict[str, Any] = {
        "routed_expert_weights": len(routed),
        "not_fp8": len(other),
        "ok": bool(routed) and not other,
    }
    if other:
        result["example"] = f"{other[0].name}: {other[0].dtype}"
    return result


def loaded_experts(model: Any) -> dict[str, Any]:
    """Classes and dtypes of every routed expert weight as loaded."""
    classes: set[str] = set()
    dtypes: set[str] = set()
    count = 0
    for name, module in model.named_modules():
        if ".feed_forward.experts" not in name:
            continue
        weight = getattr(module, "weight", None)
        if weight is None and hasattr(module, "gate_up_proj"):
            weight = module.gate_up_proj
        if weight is None or not hasattr(weight, "dtype"):
            continue
        count += 1
        classes.add(type(module).__name__)
        dtypes.add(str(weight.dtype))
    return {
        "modules": count,
        "classes": sorted(classes),
        "dtypes": sorted(dtypes),
        "ok": count > 0 and all("float8" in d for d in dtypes),
    }


def moe_kernels(model: Any, layer: Any, tokens: int = 16) -> dict[str, Any]:
    """The ops and CUDA kernels one forward of a MoE layer's feed-forward runs."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    hidden = int(model.config.get_text_config().hidden_size)
    param = next(layer.parameters())
    x = torch.randn(1, tokens, hidden, device=param.device, dtype=torch.bfloat16)
    activities = [ProfilerActivity.CPU]
    if param.device.type == "cuda":
        activities.append(ProfilerActivity.CUDA)
    with torch.inference_mode(), profile(activities=activities) as prof:
        layer.feed_forward(x)
        if param.device.type == "cuda":
            torch.cuda.synchronize()
    names = {event.name for event in prof.events()}
    ops = sorted(n for n in names if n.startswith("aten::") and "mm" in n)
    kernels = sorted(
        n for n in names if not n.startswith(("aten::", "cuda", "Memcpy", "Memset", "["))
    )
    return {"ops": ops, "kernels": kernels[:20], "ok": "aten::_scaled_mm" in names}


def memory_matches(allocated: int, fp8_bytes: int) -> dict[str, Any]:
    """Bytes allocated after loading against the FP8 size computed from the headers."""
    ratio = allocated / fp8_bytes if fp8_bytes else 0.0
    return {
        "allocated_bytes": allocated,
        "fp8_bytes": fp8_bytes,
        "ratio": ratio,
        "ok": abs(ratio - 1) <= MEMORY_TOLERANCE,
    }
