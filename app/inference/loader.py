"""Loading a Llama 4 checkpoint into memory, the one way the app does it.

Local folders only, safetensors only, never `trust_remote_code`. FP8
compressed-tensors checkpoints stay FP8 on GPUs that can multiply in FP8
(compute capability 8.9 and up) and are dequantised at load elsewhere: the
default compressed path on a CPU leaves the expert weights uninitialised and
generates garbage without an error.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import re
from collections.abc import Callable, Iterable, Iterator
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

from app.checkpoints.checkpoint import CheckpointInfo, human_bytes, inspect_checkpoint
from app.checkpoints.compile_mode import EAGER_LABEL, compile_mode
from app.checkpoints.devices import Device
from app.checkpoints.experts_mode import DENSE_LABEL, experts_mode
from app.checkpoints.prefill_step import pinned_step, window_attention_on
from app.checkpoints.preflight import (
    ATTENTION_IMPLEMENTATIONS,
    max_memory_plan,
    model_memory,
    preflight,
)
from app.inference import window_attention
from app.inference.compiled_decode import prepare_decode
from app.inference.sparse_experts import apply_sparse_experts

log = logging.getLogger(__name__)

# stage, done, total, and optionally bytes done and bytes in all
ProgressCallback = Callable[..., None]
StopCheck = Callable[[], bool]


class LoadCancelled(Exception):
    """Loading stopped because the app asked; nothing of the model is kept."""


class LoadPlanError(ValueError):
    """The model does not fit the GPUs; the message says why and what to change."""


@dataclass
class LoadedModel:
    """A model and processor ready to generate, with what the app shows about them."""

    model: Llama4ForConditionalGeneration
    processor: ProcessorMixin
    info: CheckpointInfo
    quantisation: str
    devices: list[str]
    warnings: list[str] = field(default_factory=list)
    # Which expert path runs: "sparse top-1 (...)" or "dense (transformers)".
    experts: str = DENSE_LABEL
    # How each decoded token runs (`app.inference.compiled_decode`): the About box's line,
    # and the compiled step when one passed its self-check.
    decode: str = EAGER_LABEL
    decode_step: Any = None

    @property
    def dtype(self) -> torch.dtype:
        return self.model.dtype

    @property
    def chunked_attention(self) -> str:
        """How chunked-attention layers prefill (`app.inference.window_attention`)."""
        return window_attention.label(self.model)

    @property
    def attention(self) -> str:
        """The attention implementation the model runs with ("sdpa", "eager", ...)."""
        return str(self.model.config._attn_implementation)


def describe_devices() -> list[str]:
    """One line per device the model may use, e.g. 'cuda:0 NVIDIA H100 80GB HBM3 (79.1 GiB)'."""
    if not torch.cuda.is_available():
        return ["CPU"]
    devices = []
    for index in range(torch.cuda.device_count()):
        props = torch.cuda.get_device_properties(index)
        devices.append(f"cuda:{index} {props.name} ({human_bytes(props.total_memory)})")
    return devices


def runtime_versions() -> dict[str, str]:
    """The versions Help > About shows: torch, transformers, the CUDA runtime, Python."""
    import platform

    import transformers

    return {
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "cuda": torch.version.cuda or "none",
        "python": platform.python_version(),
    }


def fp8_kernels_available() -> bool:
    """Whether this machine can run FP8 matmuls (Ada, Hopper, Blackwell GPUs)."""
    return bool(torch.cuda.is_available() and torch.cuda.get_device_capability() >= (8, 9))


def quantisation_plan(
    info: CheckpointInfo,
) -> tuple[CompressedTensorsConfig | None, str, list[str]]:
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


def largest_layer_bytes(info: CheckpointInfo) -> int:
    """Bytes of the biggest decoder layer: `device_map` never splits one across GPUs."""
    sizes: dict[str, int] = {}
    for tensor in info.tensors:
        match = re.search(r"\.layers\.(\d+)\.", tensor.name)
        if match:
            key = tensor.name[: match.end()]
            sizes[key] = sizes.get(key, 0) + tensor.nbytes
    return max(sizes.values(), default=0)


def gpu_plan(info: CheckpointInfo, attn: str) -> dict[int, int]:
    """`max_memory` for the visible GPUs, or `LoadPlanError` if the weights cannot fit."""
    devices = []
    for index in range(torch.cuda.device_count()):
        free, _total = torch.cuda.mem_get_info(index)
        fp8 = torch.cuda.get_device_capability(index) >= (8, 9)
        devices.append(Device(f"cuda:{index}", int(free), fp8))
    memory = model_memory(info)
    check = preflight(memory, devices, attn=attn)
    if not check.fits:
        raise LoadPlanError(check.summary())
    log.info("preflight: %s", check.summary())
    weights = memory.weights_bytes(check.fp8_kernels)
    return max_memory_plan([d.free_bytes for d in devices], weights, largest_layer_bytes(info))


@contextlib.contextmanager
def _weight_progress(
    report: ProgressCallback, size_bytes: int, should_stop: StopCheck
) -> Iterator[None]:
    """Report, and allow cancelling, between the tensors transformers loads.

    transformers 5 maps every shard at once and then materialises the weights in
    one loop (`core_model_loading`, its "Loading weights" bar); that loop is
    wrapped here. Bytes are the share of the checkpoint, by tensor count.
    """
    import transformers.core_model_loading as loading

    original = getattr(loading, "tqdm", None)
    if original is None:
        log.warning("this transformers has no weight-loading loop to follow; no progress")
        yield
        return

    def tracked(iterable: Iterable[Any], *args: Any, **kwargs: Any) -> Iterator[Any]:
        items = list(iterable)
        total = max(len(items), 1)
        step = -1
        for done, item in enumerate(items):
            if should_stop():
                raise LoadCancelled("loading was cancelled")
            if done * 200 // total != step:  # at most 200 events, however many tensors
                step = done * 200 // total
                report("loading weights", done, total, size_bytes * done // total, size_bytes)
            yield item
        report("loading weights", total, total, size_bytes, size_bytes)

    loading.tqdm = tracked  # type: ignore[assignment,attr-defined]
    try:
        yield
    finally:
        loading.tqdm = original  # type: ignore[attr-defined]


def load_model(
    folder: Path | str,
    progress: ProgressCallback | None = None,
    attn_implementation: str = "sdpa",
    should_stop: StopCheck | None = None,
) -> LoadedModel:
    """Check, then load, a checkpoint folder; raise `CheckpointError` for bad folders.

    `should_stop` is asked between shards and between weights; when it answers
    True, loading stops with `LoadCancelled`.
    """
    report = progress or (lambda *args: None)
    stop = should_stop or (lambda: False)
    mode = experts_mode()  # a bad MAVERICK_DESK_EXPERTS fails before minutes of loading
    compile_mode()  # and so does a bad MAVERICK_DESK_COMPILE
    pinned_step()  # and a bad MAVERICK_DESK_PREFILL_STEP
    window_attention_on()  # and a bad MAVERICK_DESK_WINDOW_ATTENTION
    if attn_implementation not in ATTENTION_IMPLEMENTATIONS:
        raise ValueError(
            f"Unknown attention implementation {attn_implementation!r}: use one of "
            f"{', '.join(ATTENTION_IMPLEMENTATIONS)} "
            "(sdpa by default, flex_attention for long context)."
        )

    def on_shard(done: int, total: int) -> None:
        report("checking shards", done, total)
        if stop():
            raise LoadCancelled("loading was cancelled")

    report("checking shards", 0, 1)
    info = inspect_checkpoint(folder, on_shard=on_shard)
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
        kwargs["max_memory"] = gpu_plan(info, attn_implementation)
    try:
        with _weight_progress(report, info.size_bytes, stop):
            model = Llama4ForConditionalGeneration.from_pretrained(str(info.path), **kwargs)
    except LoadCancelled:
        # Give the memory of the half-loaded model back before the next load.
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        raise
    model.eval()
    experts = apply_sparse_experts(model, mode)
    window_attention.apply(model)
    report("compiling the decode step", 0, 1)
    decode = prepare_decode(model)
    report("compiling the decode step", 1, 1)
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
        warnings=warnings + experts.fallbacks[:1] + decode.warnings,
        experts=experts.label,
        decode=decode.label,
        decode_step=decode.step,
    )
