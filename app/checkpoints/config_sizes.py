"""Sizes in a checkpoint, checked before anything is built or allocated from them.

A damaged or hostile `config.json` (``hidden_size: 1000000000``, a million layers) or a
safetensors header that claims a shape its bytes cannot hold must be refused with a
sentence, not met with an out-of-memory kill or minutes spent building a model on the
meta device. Each function returns that sentence (or None); `inspect_checkpoint` raises
it as a `CheckpointError`. The limits are far above any Llama 4 model (Maverick: hidden
5,120, 48 layers, 128 experts, vocabulary 202,048, context 1 M; Scout: context 10 M).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

TEXT_LIMITS = {
    "hidden_size": 65_536,
    "intermediate_size": 262_144,
    "intermediate_size_mlp": 262_144,
    "num_hidden_layers": 1_024,
    "num_attention_heads": 1_024,
    "num_key_value_heads": 1_024,
    "head_dim": 4_096,
    "num_local_experts": 4_096,
    "num_experts_per_tok": 4_096,
    "vocab_size": 4_194_304,
    "max_position_embeddings": 67_108_864,
    "attention_chunk_size": 67_108_864,
}
VISION_LIMITS = {
    "hidden_size": 65_536,
    "intermediate_size": 262_144,
    "num_hidden_layers": 1_024,
    "num_attention_heads": 1_024,
    "image_size": 16_384,
    "patch_size": 1_024,
    "projector_input_dim": 65_536,
    "projector_output_dim": 65_536,
    "vision_output_dim": 65_536,
}
EMBEDDING = "language_model.model.embed_tokens.weight"


def config_size_problem(folder: Path, config: dict[str, Any]) -> str | None:
    """A sentence if a size in config.json is not a sane positive integer."""
    text = config.get("text_config", config)
    vision = config.get("vision_config") or {}
    for section, values, limits in (
        ("text_config", text, TEXT_LIMITS),
        ("vision_config", vision, VISION_LIMITS),
    ):
        if not isinstance(values, dict):
            return f"{folder}/config.json: {section} is not a JSON object."
        for key, limit in limits.items():
            value = values.get(key)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= limit:
                shown = f"{value:,}" if isinstance(value, int) else repr(value)[:40]
                return (
                    f"{folder}/config.json sets {section}.{key} to {shown}; a Llama 4 model "
                    f"has a whole number from 1 to {limit:,} there. The file is damaged or "
                    "belongs to something else: use the config.json that came with the "
                    "checkpoint."
                )
    return None


def embedding_width_problem(
    folder: Path, config: dict[str, Any], shapes: dict[str, tuple[int, ...]]
) -> str | None:
    """The token embedding in the weights must be as wide as config.json says."""
    text = config.get("text_config", config)
    hidden = text.get("hidden_size") if isinstance(text, dict) else None
    shape = shapes.get(EMBEDDING)
    if hidden is None or shape is None or len(shape) != 2 or shape[1] == hidden:
        return None
    return (
        f"{folder}/config.json says the hidden size is {hidden:,}, but the weights "
        f"({EMBEDDING}) are {shape[1]:,} wide, so the config does not belong to these "
        "weights. Use the config.json that came with the checkpoint."
    )


def tensor_bytes_problem(file_name: str, name: str, entry: Any, element_bytes: int) -> str | None:
    """A header entry's shape must be whole numbers whose product fills its byte range."""
    malformed = f"{file_name} has a malformed entry for {name}."
    try:
        shape = [int(d) for d in entry["shape"]]
        start, end = (int(x) for x in entry["data_offsets"])
    except (KeyError, TypeError, ValueError):
        return malformed
    if any(d < 0 for d in shape) or not 0 <= start <= end:
        return malformed
    if element_bytes == 0:  # a dtype this check does not know; transformers will judge it
        return None
    count = 1
    for dim in shape:
        count *= dim
    if count * element_bytes != end - start:
        return (
            f"{file_name} is damaged: tensor {name} claims shape {tuple(shape)} "
            f"({count:,} values) but holds {end - start:,} bytes. Download or copy the "
            "file again."
        )
    return None
