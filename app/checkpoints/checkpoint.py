"""What a checkpoint folder holds, read without torch and without reading weights.

Everything here works from `config.json`, the optional index and the safetensors
headers, so the UI process, the command line and the worker can all check a
folder before anything large is read. Every problem is raised as a
`CheckpointError` whose message says what is wrong and what to do.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.checkpoints.config_sizes import (
    config_size_problem,
    embedding_width_problem,
    tensor_bytes_problem,
)

DEMO_MARKER = "maverick_desk_demo.json"
DEMO_MARKER_VERSION = 1

SUPPORTED_ARCHITECTURE = "Llama4ForConditionalGeneration"
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")
INDEX_NAME = "model.safetensors.index.json"

# Bytes per element of each safetensors dtype.
DTYPE_BYTES = {
    "F64": 8, "I64": 8, "U64": 8,
    "F32": 4, "I32": 4, "U32": 4,
    "F16": 2, "BF16": 2, "I16": 2, "U16": 2,
    "F8_E4M3": 1, "F8_E5M2": 1, "I8": 1, "U8": 1, "BOOL": 1,
}  # fmt: skip

# A safetensors header larger than this is not a header but a corrupt file.
MAX_HEADER_BYTES = 100 * 1024 * 1024


class CheckpointError(ValueError):
    """A checkpoint folder that cannot be loaded, with a message for the user."""


@dataclass(frozen=True)
class TensorEntry:
    """One tensor as its safetensors header describes it."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    shard: str

    @property
    def numel(self) -> int:
        count = 1
        for dim in self.shape:
            count *= dim
        return count

    @property
    def nbytes(self) -> int:
        return self.numel * DTYPE_BYTES.get(self.dtype, 0)


@dataclass(frozen=True)
class CheckpointInfo:
    """What `maverick-desk info` prints and the worker reports as `ready`."""

    path: Path
    name: str
    architecture: str
    precision: str
    total_parameters: int
    active_parameters: int
    size_bytes: int
    shards: tuple[str, ...]
    context_length: int
    is_demo: bool
    config: dict[str, Any] = field(repr=False)
    tensors: tuple[TensorEntry, ...] = field(repr=False, default=())

    @property
    def is_fp8(self) -> bool:
        return self.precision.startswith("fp8")


def read_safetensors_header(path: Path) -> dict[str, Any]:
    """Parse a safetensors header and check the file is as long as it claims."""
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            prefix = handle.read(8)
            if len(prefix) < 8:
                raise CheckpointError(f"{path.name} is truncated: it is {size} bytes long.")
            (header_len,) = struct.unpack("<Q", prefix)
            if header_len > MAX_HEADER_BYTES or 8 + header_len > size:
                raise CheckpointError(
                    f"{path.name} is truncated or not a safetensors file "
                    f"(header of {header_len} bytes in a file of {size}). "
                    "Download or copy the file again."
                )
            header = json.loads(handle.read(header_len))
    except OSError as exc:
        raise CheckpointError(f"Cannot read {path}: {exc.strerror or exc}.") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{path.name} is not a valid safetensors file.") from exc
    if not isinstance(header, dict):
        raise CheckpointError(f"{path.name} is not a valid safetensors file.")
    data_end = 0
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if not isinstance(entry, dict):
            raise CheckpointError(f"{path.name} has a malformed entry for {name}.")
        problem = tensor_bytes_problem(
            path.name, name, entry, DTYPE_BYTES.get(str(entry.get("dtype")), 0)
        )
        if problem:
            raise CheckpointError(problem)
        data_end = max(data_end, int(entry["data_offsets"][1]))
    if 8 + header_len + data_end > size:
        missing = 8 + header_len + data_end - size
        raise CheckpointError(
            f"{path.name} is truncated: {missing:,} bytes of weights are missing. "
            "Download or copy the file again."
        )
    return header


def _read_config(folder: Path) -> dict[str, Any]:
    config_path = folder / "config.json"
    if not config_path.is_file():
        raise CheckpointError(
            f"{folder} has no config.json, so it is not a Hugging Face checkpoint. "
            "Choose the folder that holds config.json and the .safetensors files."
        )
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{config_path} is not valid JSON: {exc}.") from exc
    if not isinstance(config, dict):
        raise CheckpointError(f"{config_path} does not hold a JSON object.")
    return config


def _check_architecture(folder: Path, config: dict[str, Any]) -> str:
    architectures = config.get("architectures") or []
    model_type = config.get("model_type")
    if SUPPORTED_ARCHITECTURE in architectures or (not architectures and model_type == "llama4"):
        return SUPPORTED_ARCHITECTURE
    found = ", ".join(str(a) for a in architectures) or f"model_type {model_type!r}"
    raise CheckpointError(
        f"{folder} holds a {found} checkpoint; Maverick Desk runs Llama 4 "
        f"({SUPPORTED_ARCHITECTURE}) checkpoints such as "
        "meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8."
    )


def _shards(folder: Path) -> list[str]:
    index_path = folder / INDEX_NAME
    if index_path.is_file():
        try:
            index = json.loads(index_path.read_text(encoding="utf-8"))
            names = sorted(set(index["weight_map"].values()))
        except (OSError, json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
            raise CheckpointError(f"{index_path.name} in {folder} is malformed.") from exc
        missing = [name for name in names if not (folder / name).is_file()]
        if missing:
            raise CheckpointError(
                f"{len(missing)} of {len(names)} weight shards named in {INDEX_NAME} are missing "
                f"from {folder} (first: {missing[0]}). Finish the download before loading."
            )
        return names
    names = sorted(p.name for p in folder.glob("*.safetensors"))
    if not names:
        raise CheckpointError(
            f"{folder} has no .safetensors weights. Maverick Desk loads safetensors only."
        )
    return names


def _precision(config: dict[str, Any], dtypes: set[str]) -> str:
    quant = config.get("quantization_config") or {}
    method = quant.get("quant_method") if isinstance(quant, dict) else None
    if method == "compressed-tensors" and "F8_E4M3" in dtypes:
        return "fp8 (compressed-tensors)"
    if method:
        return f"quantised ({method})"
    for dtype, label in (("BF16", "bf16"), ("F16", "fp16"), ("F32", "fp32")):
        if dtype in dtypes:
            return label
    return "unknown"


def _is_routed_expert(name: str) -> bool:
    return ".experts." in name or name.endswith((".experts.gate_up_proj", ".experts.down_proj"))


def count_parameters(
    tensors: list[TensorEntry] | tuple[TensorEntry, ...], config: dict[str, Any]
) -> tuple[int, int]:
    """Total and active parameters.

    A text token passes through top-k of the routed experts and not the vision
    tower, which is how Meta counts Maverick's 17 B active of 400 B.
    """
    text = config.get("text_config") or config
    experts = int(text.get("num_local_experts") or 1)
    top_k = int(text.get("num_experts_per_tok") or 1)
    total = routed = vision = 0
    for entry in tensors:
        if entry.name.endswith(("weight_scale", "weight_zero_point", "input_scale")):
            continue
        total += entry.numel
        if _is_routed_expert(entry.name):
            routed += entry.numel
        elif entry.name.startswith(("vision_model.", "multi_modal_projector.")):
            vision += entry.numel
    active = total - vision - routed + routed * top_k // max(experts, 1)
    return total, active


def inspect_checkpoint(
    folder: Path | str, on_shard: Callable[[int, int], None] | None = None
) -> CheckpointInfo:
    """Check a folder as the worker would before loading it; raise `CheckpointError`.

    `on_shard(done, total)` is called after each shard's header has been checked.
    """
    folder = Path(folder).expanduser()
    if not folder.exists():
        raise CheckpointError(
            f"Model folder {folder} does not exist. Pass --model with a Llama 4 checkpoint "
            "folder, or write the demo with `maverick-desk demo-checkpoint DIR`."
        )
    if not folder.is_dir():
        raise CheckpointError(f"{folder} is a file; --model takes the checkpoint's folder.")
    config = _read_config(folder)
    architecture = _check_architecture(folder, config)
    problem = config_size_problem(folder, config)
    if problem:
        raise CheckpointError(problem)
    pickles = sorted(p.name for p in folder.iterdir() if p.suffix in PICKLE_SUFFIXES)
    has_safetensors = any(folder.glob("*.safetensors"))
    if pickles and not has_safetensors:
        raise CheckpointError(
            f"{folder} has only pickle weights ({', '.join(pickles[:3])}). Loading pickle "
            "files can run arbitrary code, so Maverick Desk refuses them: use the "
            "checkpoint's .safetensors release, or convert it with safetensors."
        )
    shards = _shards(folder)
    tensors: list[TensorEntry] = []
    size = 0
    for number, shard in enumerate(shards, 1):
        path = folder / shard
        header = read_safetensors_header(path)
        if on_shard is not None:
            on_shard(number, len(shards))
        size += path.stat().st_size
        for name, entry in header.items():
            if name == "__metadata__":
                continue
            tensors.append(TensorEntry(name, str(entry["dtype"]), tuple(entry["shape"]), shard))
    problem = embedding_width_problem(folder, config, {t.name: t.shape for t in tensors})
    if problem:
        raise CheckpointError(problem)
    total, active = count_parameters(tensors, config)
    text = config.get("text_config") or {}
    marker = _read_marker(folder)
    name = str(marker.get("name")) if marker else folder.name
    return CheckpointInfo(
        path=folder,
        name=name,
        architecture=architecture,
        precision=_precision(config, {t.dtype for t in tensors}),
        total_parameters=total,
        active_parameters=active,
        size_bytes=size,
        shards=tuple(shards),
        context_length=int(text.get("max_position_embeddings") or 0),
        is_demo=bool(marker and marker.get("random_weights")),
        config=config,
        tensors=tuple(tensors),
    )


def _read_marker(folder: Path) -> dict[str, Any] | None:
    path = folder / DEMO_MARKER
    if not path.is_file():
        return None
    try:
        marker = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    if not isinstance(marker, dict) or int(marker.get("format_version", 0)) > DEMO_MARKER_VERSION:
        return None
    return marker


def human_count(n: int) -> str:
    """1234567 -> '1.23 M'."""
    for unit, size in (("T", 10**12), ("B", 10**9), ("M", 10**6), ("K", 10**3)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return str(n)


def human_bytes(n: float) -> str:
    """1536 -> '1.5 KiB'."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"
