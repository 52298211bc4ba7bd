"""`scripts/gpu-check.sh`: Maverick's widths in FP8 on one GPU, dense against sparse experts.

Writes a random checkpoint at Maverick's real widths with a dense, a RoPE MoE and a
NoPE MoE layer (`app.generators.wide_checkpoint`), loads it through the app's own loader
(FP8 kept FP8 on compute capability 8.9+), then decodes and prefills with
transformers' dense experts and with the sparse dispatch, times the compiled decode
step over the sparse experts (unless ``MAVERICK_DESK_COMPILE=off``), and writes one
JSON file: load time, the expert modules and their weight dtype, decode tokens/s eager
and compiled, prefill tokens/s in each step size (`STEPS`), all by kind of layer
(`app.generators.step_timing`), peak memory, whether greedy tokens matched, the FP8
evidence, and an extrapolation to Maverick's 48 layers on 8 GPUs with its arithmetic
(`app.generators.maverick_extrapolation`; printed too). ``--smoke`` does the same at
tiny widths on the CPU, so the test suite keeps this path alive: the same code, on
the CPU instead of CUDA.

``--checkpoint DIR`` checks an existing checkpoint instead of writing one.

Exit status: 0 all ran, the experts are FP8 (`app.generators.fp8_proof`: on disk, and on a
GPU with FP8 matmuls also in memory, in the kernels and in the bytes allocated) and
greedy tokens matched; 1 any of that failed (each failure is printed as a sentence);
2 a package is missing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from app.generators.maverick_extrapolation import extrapolate as extrapolate
from app.generators.step_timing import (
    compiled_decode,
    layer_counts,
    layer_times,
    prefill_times,
    timed,
)

NEEDED = (
    "torch",
    "transformers",
    "compressed_tensors",
    "safetensors",
    "accelerate",
    "PIL",
    "torchvision",
)


# Prefill step sizes timed (tokens per forward): the engine's reuse granularity, and bigger.
STEPS = (512, 2048, 8192)
SMOKE_STEPS = (512, 1024)


def missing_packages() -> list[str]:
    import importlib.util

    return [name for name in NEEDED if importlib.util.find_spec(name) is None]


def missing_sentence(missing: list[str]) -> str:
    """What is missing and what to do, in one sentence."""
    if missing == ["torchvision"]:
        return (
            "gpu-check: torchvision is missing, and the Llama 4 image processor the loader "
            "builds needs it: install the torchvision release built for this Python's torch "
            "(0.29 for torch 2.14, 0.26 for 2.11) and run again."
        )
    return (
        f"gpu-check: missing Python packages: {', '.join(missing)}; "
        "`bash scripts/gpu-check.sh --print-wheels` lists the wheels to carry to this machine "
        "and `--wheels DIR` installs them from that folder without network."
    )


def _peak_reset() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()


def _peak() -> int:
    import torch

    return int(torch.cuda.max_memory_allocated()) if torch.cuda.is_available() else 0


def measure(
    model: Any, prompt: Any, long_ids: Any, new_tokens: int, steps: tuple[int, ...]
) -> dict[str, Any]:
    """Eager decode (tokens/s, seconds by layer kind) and the prefill in each step size."""
    import torch

    greedy = {"do_sample": False, "max_new_tokens": new_tokens, "min_new_tokens": new_tokens}
    out: dict[str, Any] = {}
    with torch.inference_mode():
        model.generate(prompt, **{**greedy, "max_new_tokens": 2, "min_new_tokens": 2})  # warm-up
        short = timed(lambda: model.generate(prompt, **greedy))
        one = timed(lambda: model(prompt))
        _, layers = layer_times(model, lambda: model(prompt[:, -1:]))
        out["decode_layer_counts"] = layer_counts(model)
        tokens = model.generate(prompt, **greedy)[0, prompt.shape[1] :].tolist()
    out["decode_tokens_per_s"] = (new_tokens - 1) / max(short - one, 1e-9)
    out["decode_layer_s"] = layers
    _peak_reset()
    out["prefill"] = [prefill_times(model, long_ids, step) for step in steps]
    out["prefill_s"] = out["prefill"][0]["prefill_s"]
    out["prefill_peak_bytes"] = _peak()
    out["greedy_tokens"] = tokens
    return out


def expert_modules(model: Any) -> dict[str, Any]:
    """What the MoE layer's experts loaded as: classes and weight dtypes."""
    moe = next(m for m in model.modules() if type(m).__name__ == "Llama4TextMoe")
    experts = moe.experts
    first = experts[0] if hasattr(experts, "__getitem__") else experts
    linear = getattr(first, "gate_proj", None)
    weight = getattr(linear, "weight", None) if linear is not None else None
    return {
        "experts_class": type(experts).__name__,
        "expert_linear_class": type(linear).__name__ if linear is not None else None,
        "expert_weight_dtype": str(weight.dtype) if weight is not None else None,
        "stayed_fp8": bool(weight is not None and "float8" in str(weight.dtype)),
    }


def hook_and_hop_s(model: Any, repeats: int = 50) -> dict[str, float]:
    """Measured: what an accelerate device hook adds to one layer call, and one hop.

    The hook is accelerate's `AlignDevicesHook`, which `device_map="auto"` puts on every
    layer; timed as the difference of a layer's decode step with and without it. The
    hop is one token's hidden state copied to another device and synchronised: between
    two GPUs where there are two, else (one GPU) to the host and back, an upper bound.
    """
    import torch
    from accelerate.hooks import AlignDevicesHook, add_hook_to_module, remove_hook_from_module

    layer = model.language_model.model.layers[0]
    param = next(layer.parameters())
    hidden = torch.randn(1, 1, param.shape[-1], device=param.device, dtype=torch.bfloat16)

    def steps() -> None:
        for _ in range(repeats):
            layer.feed_forward(hidden)

    def hops() -> None:
        for _ in range(repeats):
            if torch.cuda.device_count() > 1:
                hidden.to("cuda:1")
            else:
                hidden.cpu().to(param.device)

    with torch.inference_mode():
        steps()
        bare = timed(steps) / repeats
        add_hook_to_module(layer.feed_forward, AlignDevicesHook(execution_device=param.device))
        try:
            hooked = timed(steps) / repeats
        finally:
            remove_hook_from_module(layer.feed_forward)
        # One CPU has nothing to hop to.
        hop = timed(hops) / repeats if param.device.type == "cuda" else 0.0
    return {"hook_s": max(hooked - bare, 0.0), "hop_s": hop}


def fp8_evidence(loaded: Any) -> dict[str, Any]:
    """The checkpoint's experts, and where FP8 matmuls exist the loaded ones (fp8_proof)."""
    import torch

    from app.checkpoints.preflight import model_memory
    from app.generators.fp8_proof import (
        checkpoint_experts,
        loaded_experts,
        memory_matches,
        moe_kernels,
    )

    model = loaded.model
    evidence: dict[str, Any] = {"checkpoint": checkpoint_experts(loaded.info)}
    gpu = torch.cuda.is_available() and torch.cuda.get_device_capability() >= (8, 9)
    if not gpu:
        evidence["loaded"] = {"ok": True, "note": "no FP8 matmul here: dequantised by design"}
        return evidence
    evidence["memory"] = memory_matches(
        int(torch.cuda.memory_allocated()), model_memory(loaded.info).weights_fp8_bytes
    )
    evidence["loaded"] = loaded_experts(model)
    moe = next(layer for layer in model.language_model.model.layers if layer.is_moe_layer)
    evidence["kernels"] = moe_kernels(model, moe)
    return evidence


def failures(result: dict[str, Any]) -> list[str]:
    """Each reason the check fails, as a sentence."""
    found = []
    evidence = result["fp8"]
    disk = evidence["checkpoint"]
    if not disk["ok"]:
        found.append(
            f"{disk['not_fp8']} of {disk['routed_expert_weights']} routed expert weights in the "
            f"checkpoint are not FP8 (e.g. {disk.get('example', 'none found')})."
        )
    loaded = evidence["loaded"]
    if not loaded["ok"]:
        found.append(
            f"The loaded experts are {', '.join(loaded.get('dtypes', []))} "
            f"({', '.join(loaded.get('classes', []))}), not float8."
        )
    kernels = evidence.get("kernels")
    if kernels is not None and not kernels["ok"]:
        found.append(
            f"One MoE forward ran no aten::_scaled_mm (it ran {', '.join(kernels['ops'])})."
        )
    memory = evidence.get("memory")
    if memory is not None and not memory["ok"]:
        found.append(
            f"After loading {memory['allocated_bytes']:,} bytes are allocated, "
            f"{memory['ratio']:.2f} times the FP8 size of {memory['fp8_bytes']:,}."
        )
    if not result["greedy_tokens_match"]:
        found.append("Dense and sparse experts gave different greedy tokens.")
    return found


def run_check(
    folder: Path,
    smoke: bool,
    new_tokens: int,
    prefill: int,
    steps: tuple[int, ...],
    write: bool = True,
) -> dict[str, Any]:
    import torch

    from app.checkpoints.compile_mode import COMPILE_ENV, compile_mode
    from app.checkpoints.experts_mode import EXPERTS_ENV
    from app.generators.wide_checkpoint import SMOKE, Widths, write_wide_fp8_checkpoint
    from app.inference.loader import load_model
    from app.inference.sparse_experts import apply_sparse_experts

    widths = SMOKE if smoke else Widths()
    started = time.perf_counter()
    if write:
        write_wide_fp8_checkpoint(folder, widths)
    written = time.perf_counter() - started
    os.environ[EXPERTS_ENV] = "dense"
    # The compiled step is timed below, over the sparse experts; not compiled at load.
    timing_compiled = compile_mode() != "off"
    os.environ[COMPILE_ENV] = "off"
    started = time.perf_counter()
    loaded = load_model(folder)
    load_s = time.perf_counter() - started
    model = loaded.model
    evidence = fp8_evidence(loaded)
    device = next(model.parameters()).device
    if device.type == "cpu":  # a shared CPU: two threads' small matmuls wait on each other
        torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(16)
    vocab = min(model.config.get_text_config().vocab_size, len(loaded.processor.tokenizer)) - 20
    prompt = torch.randint(0, vocab, (1, 32), generator=gen).to(device)
    long_ids = torch.randint(0, vocab, (1, prefill), generator=gen).to(device)
    dense = measure(model, prompt, long_ids, new_tokens, steps)
    report = apply_sparse_experts(model, "sparse")
    sparse = measure(model, prompt, long_ids, new_tokens, steps)
    compiled: dict[str, Any] | None = None
    if timing_compiled:
        compiled = compiled_decode(model, prompt, new_tokens)
        compiled["greedy_tokens_match_eager"] = compiled["greedy_tokens"] == sparse["greedy_tokens"]
    return {
        "mode": "smoke (tiny widths, CPU)" if smoke else "Maverick widths",
        "widths": widths.__dict__,
        "device": loaded.devices,
        "cpu_threads": torch.get_num_threads(),
        "quantisation": loaded.quantisation,
        "checkpoint_bytes": loaded.info.size_bytes,
        "write_s": written,
        "load_s": load_s,
        "fp8": evidence,
        **expert_modules(model),
        "experts_label": report.label,
        # Chunked layers window by window (its self-check passed at load) or masked.
        "chunked_attention": loaded.chunked_attention,
        "prefill_tokens": prefill,
        "dense": {k: v for k, v in dense.items() if k != "greedy_tokens"},
        "sparse": {k: v for k, v in sparse.items() if k != "greedy_tokens"},
        "compiled": (
            {k: v for k, v in compiled.items() if k != "greedy_tokens"}
            if compiled is not None
            else f"not timed: {COMPILE_ENV}=off"
        ),
        "decode_speedup": sparse["decode_tokens_per_s"] / dense["decode_tokens_per_s"],
        "prefill_time_ratio": sparse["prefill_s"] / dense["prefill_s"],
        "greedy_tokens_match": sparse["greedy_tokens"] == dense["greedy_tokens"],
        "extrapolation": extrapolate(sparse, dense, hook_and_hop_s(model), compiled),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gpu-check.sh", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny widths on the CPU")
    parser.add_argument("--out", type=Path, default=Path("gpu-check.json"))
    parser.add_argument("--dir", type=Path, help="where to write the checkpoint (default: temp)")
    parser.add_argument("--keep", action="store_true", help="keep the checkpoint afterwards")
    parser.add_argument("--checkpoint", type=Path, help="check this checkpoint; write none")
    parser.add_argument(
        "--print-wheels", action="store_true", help="list the wheels to carry, and exit"
    )
    parser.add_argument("--wheels", type=Path, help="install those wheels from this folder")
    args = parser.parse_args(argv)
    from app.generators.check_wheels import download_command, install_from, wheel_pins

    if args.print_wheels:
        print("\n".join(wheel_pins()))
        print(f"# fetch them (anywhere with network): {download_command()}", file=sys.stderr)
        return 0
    if args.wheels is not None and (problem := install_from(args.wheels, wheel_pins())):
        print(problem, file=sys.stderr)
        return 2
    missing = missing_packages()
    if missing:
        print(missing_sentence(missing), file=sys.stderr)
        return 2
    new_tokens, prefill = (8, 1024) if args.smoke else (64, 8192)
    steps = SMOKE_STEPS if args.smoke else STEPS
    if args.checkpoint is not None:
        result = run_check(args.checkpoint, args.smoke, new_tokens, prefill, steps, write=False)
    else:
        folder = args.dir or Path(tempfile.mkdtemp(prefix="maverick-gpu-check-"))
        try:
            result = run_check(folder / "checkpoint", args.smoke, new_tokens, prefill, steps)
        finally:
            if not args.keep:
                shutil.rmtree(folder / "checkpoint", ignore_errors=True)
    result["failures"] = failures(result)
    text = json.dumps(result, indent=2)
    print(text)
    args.out.write_text(text + "\n", encoding="utf-8")
    print(f"gpu-check: wrote {args.out}", file=sys.stderr)
    for name, sentence in result["extrapolation"]["arithmetic"].items():
        print(f"gpu-check: {name}: {sentence}", file=sys.stderr)
    for sentence in result["failures"]:
        print(f"gpu-check: FAILED: {sentence}", file=sys.stderr)
    return 1 if result["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
