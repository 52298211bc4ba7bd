"""``maverick-desk info``: what the worker would load from a folder, without loading it."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from app.checkpoints.checkpoint import CheckpointError, human_bytes, human_count, inspect_checkpoint
from app.checkpoints.compile_mode import CompileModeError, compile_mode, describe_compile
from app.checkpoints.experts_mode import ExpertsModeError, describe_mode, experts_mode
from app.checkpoints.prefill_step import (
    WINDOW_ATTENTION_ENV,
    PrefillStepError,
    describe_step,
    pinned_step,
    window_attention_on,
)
from app.paths import default_model


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "info",
        help="describe a checkpoint folder without loading it",
        description="Print the architecture, parameters, precision and files of a checkpoint.",
    )
    parser.add_argument("--model", help="checkpoint folder (default: the demo checkpoint)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    folder = args.model or default_model()
    try:
        info = inspect_checkpoint(folder)
    except CheckpointError as exc:
        print(f"maverick-desk info: {exc}", file=sys.stderr)
        return 1
    try:
        mode = experts_mode()
        compiling = compile_mode()
        step = pinned_step()
        windowed = window_attention_on()
    except (ExpertsModeError, CompileModeError, PrefillStepError) as exc:
        print(f"maverick-desk info: {exc}", file=sys.stderr)
        return 1
    text = info.config.get("text_config") or {}
    window = int(text.get("attention_chunk_size") or 0)
    vision = info.config.get("vision_config") or {}
    experts = text.get("num_local_experts")
    moe_every = text.get("interleave_moe_layer_step")
    rows = [
        ("name", info.name + ("  [demo: random weights]" if info.is_demo else "")),
        ("folder", str(info.path)),
        ("architecture", info.architecture),
        (
            "parameters",
            f"{human_count(info.total_parameters)} total, "
            f"{human_count(info.active_parameters)} active per token",
        ),
        ("precision", info.precision),
        (
            "loads as",
            "FP8 on GPUs with compute capability >= 8.9, dequantised to bf16 elsewhere"
            if info.is_fp8
            else info.precision,
        ),
        (
            "text model",
            f"{text.get('num_hidden_layers')} layers, hidden {text.get('hidden_size')}, "
            f"{experts} routed experts (top-{text.get('num_experts_per_tok')}) "
            f"+ shared expert every {moe_every} layers",
        ),
        ("experts", describe_mode(mode)),
        ("decode", describe_compile(compiling)),
        ("prefill", describe_step(step, 0 if windowed else window)),
        (
            "chunked attention",
            f"window by window in prefill ({WINDOW_ATTENTION_ENV}=off: transformers' mask)"
            if windowed
            else f"over transformers' mask ({WINDOW_ATTENTION_ENV}=off)",
        ),
        (
            "vision model",
            f"{vision.get('num_hidden_layers')} layers, hidden {vision.get('hidden_size')}, "
            f"{vision.get('image_size')} px tiles",
        ),
        ("context", f"{info.context_length:,} tokens"),
        ("size on disk", human_bytes(info.size_bytes)),
        (
            "files",
            f"{len(info.shards)} safetensors shard(s): "
            + ", ".join(info.shards[:3])
            + (" …" if len(info.shards) > 3 else ""),
        ),
    ]
    width = max(len(key) for key, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    return 0
