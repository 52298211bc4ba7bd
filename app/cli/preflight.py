"""``maverick-desk preflight``: whether a checkpoint fits this machine, and with what context."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from app.checkpoints.checkpoint import CheckpointError, inspect_checkpoint
from app.checkpoints.devices import DeviceSpecError, cpu_device, detect_gpus, parse_gpu_spec
from app.checkpoints.library import LibraryError, chosen_model
from app.checkpoints.preflight import ATTENTION_IMPLEMENTATIONS, model_memory, preflight
from app.paths import default_model

EXIT_DOES_NOT_FIT = 3


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "preflight",
        help="check that a checkpoint fits the GPUs before loading it",
        description=(
            "Work out from config.json and the safetensors headers (no weights are read) "
            "whether the model fits the GPUs, and how many tokens of context are left. "
            "Exit status 0: fits; 1: the checkpoint cannot be loaded; 3: it does not fit."
        ),
    )
    parser.add_argument(
        "--model", help="checkpoint folder (default: the chosen model, else the demo)"
    )
    parser.add_argument(
        "--context", type=int, metavar="N", help="tokens of context (default: what fits)"
    )
    parser.add_argument(
        "--gpus",
        metavar="SPEC",
        help="free memory of the GPUs instead of asking nvidia-smi, e.g. 8x80GB, 80GB,40GB, "
        "or 8x80GB@8.0 for GPUs without FP8 (compute capability 8.0)",
    )
    parser.add_argument(
        "--attn", choices=ATTENTION_IMPLEMENTATIONS, default="sdpa", help="attention implementation"
    )
    parser.set_defaults(handler=run)


def _model_folder(args: argparse.Namespace) -> Path:
    if args.model:
        return Path(args.model)
    try:
        chosen = chosen_model()
    except LibraryError:
        chosen = None
    return chosen or default_model()


def run(args: argparse.Namespace) -> int:
    if args.context is not None and args.context < 1:
        print("maverick-desk preflight: --context must be at least 1.", file=sys.stderr)
        return 2
    try:
        devices = parse_gpu_spec(args.gpus) if args.gpus else []
    except DeviceSpecError as exc:
        print(f"maverick-desk preflight: {exc}", file=sys.stderr)
        return 2
    note = f"GPUs as given: {args.gpus}" if args.gpus else ""
    if not args.gpus:
        devices, note = detect_gpus()
        if not devices:
            devices = [cpu_device()]
            note += "; the model would run on the CPU"
    try:
        info = inspect_checkpoint(_model_folder(args))
    except CheckpointError as exc:
        print(f"maverick-desk preflight: {exc}", file=sys.stderr)
        return 1
    try:
        result = preflight(model_memory(info), devices, args.context, args.attn)
    except ValueError as exc:
        print(f"maverick-desk preflight: {exc}", file=sys.stderr)
        return 2
    print(result.summary())
    print()
    rows = [("found", note), ("folder", str(info.path)), *result.details()]
    width = max(len(key) for key, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    return 0 if result.fits else EXIT_DOES_NOT_FIT
