"""Loading a Llama 4 checkpoint into memory, the one way the app does it.

Local folders only, safetensors only, never `trust_remote_code`. FP8
compressed-tensors checkpoints stay FP8 on GPUs that can multiply in FP8
(compute capability 8.9 and up) and are dequantised at load elsewhere: the
default compressed path on a CPU leaves the expert weights uninitialised and
generates garbage without an error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from transformers import (
    AutoProcessor,
    CompressedTensorsConfig,
    Llama4ForConditionalGeneration,
    ProcessorMixin,
)

from app.inference.checkpoint import CheckpointInfo, human_bytes, inspect_checkpoint

log = logging.getLogger(__name__)

ProgressCallback = Callable[[str, int, int], None]


@dataclass
class LoadedModel:
    """A model and processor ready to generate, with what the app shows about them."""

    model: Llama4ForConditionalGeneration
    processor: ProcessorMixin
    info: CheckpointInfo
    quantisation: str
    devices: list[str]
    warnings: list[str] = field(default_factory=list)

    @property
    def dtype(self) -> torch.dtype:
        return self.model.dtype


def describe_devices() -> list[str]:
    """One line per device the model may use, e.g. 'cuda:0 NVIDIA H100 80GB HBM3 (79.1 GiB)'."""
    if not torch.cuda.is_available():
        return ["CPU"]
    devices = []
    for index in range(torch.cuda.device_count()):
        props = torch.cuda.get_device_properties(index)
        devices.append(f"cuda:{index} {props.name} ({human_bytes(props.total_memory)})")
    return devices


def fp8_kernels_available() -> bool:
    """Whether this machine can run FP8 matmuls (Ada, Hopper, Blackwell GPUs)."""
    return bool(torch.cuda.is_available() and torch.cuda.get_device_capability() >= (8, 9))


def quantisation_plan(info: CheckpointInfo) -> tuple[CompressedTensorsConfig | None, str, list[str]]:
    """How to load the checkpoint's weights: the config to pass, a label, and warnings."""
    if not info.is_fp8:
        return None, info.precision, []
    if fp8_kernels_available():
        label = "fp8 (compressed-tensors, FP8 kernels)"
        return CompressedTensorsConfig(use_optimized_inference=True), label, []
    bf16_bytes = info.total_parameters * 2
    warning = (
        "This machine has no FP8 matmul (a CUDA GPU with compute capability 8.9 or newer), so the "
        f"FP8 weights are dequantised to bf16 while loading: about {human_bytes(bf16_bytes)} of "
        f"memory instead of {human_bytes(info.size_bytes)}."
    )
    return CompressedTensorsConfig(dequantize=True), "fp8 dequantised to bf16", [warning]


def load_model(
    folder: Path | str,
    progress: ProgressCallback | None = None,
    attn_implementation: str = "sdpa",
) -> LoadedModel:
    """Check, then load, a checkpoint folder; raise `CheckpointError` for bad folders."""
    report = progress or (lambda stage, done, total: None)
    report("checking files", 0, 1)
    info = inspect_checkpoint(folder)
    report("checking files", 1, 1)
    quant_config, label, warnings = quantisation_plan(info)
    for warning in warnings:
        log.warning(warning)
    kwargs: dict[str, Any] = {
        "local_files_only": True,
        "trust_remote_code": False,
        "use_safetensors": True,
        "dtype": torch.bfloat16,
        "attn_implementation": attn_implementation,
    }
    if quant_config is not None:
        kwargs["quantization_config"] = quant_config
    if torch.cuda.is_available():
        kwargs["device_map"] = "auto"
    report("loading weights", 0, len(info.shards))
    model = Llama4ForConditionalGeneration.from_pretrained(str(info.path), **kwargs)
    model.eval()
    report("loading weights", len(info.shards), len(info.shards))
    report("loading processor", 0, 1)
    processor = AutoProcessor.from_pretrained(
        str(info.path), local_files_only=True, trust_remote_code=False
    )
    report("loading processor", 1, 1)
    return LoadedModel(
        model=model,
        processor=processor,
        info=info,
        quantisation=label,
        devices=describe_devices(),
        warnings=warnings,
    )
