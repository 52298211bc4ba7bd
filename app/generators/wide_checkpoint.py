"""Write a random checkpoint at chosen widths in the FP8 release's format, tensor by tensor.

`scripts/gpu-check.sh` uses it at Maverick's real widths (hidden 5,120, 128 routed
experts of 8,192, dense MLP 16,384, Maverick's attention and vocabulary) with as
few layers as show each kind Maverick has (dense, RoPE MoE and NoPE MoE, in four layers):
about 37 GB, too big to build as a
model and convert, so each tensor is drawn (on the GPU when there is one) and
written straight into safetensors shards. The format is the demo's FP8 twin's
(`app.generators.demo.write_fp8_twin`): per-expert
``experts.E.{gate,up,down}_proj.weight`` in float8_e4m3fn with a per-channel
``[out, 1]`` ``weight_scale``; everything else bf16. The tokenizer, processor and
vision tower are the demo's, small: this checkpoint is for the text path's speed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file
from transformers import Llama4ForConditionalGeneration

from app.generators.demo import (
    build_config,
    build_processor,
    build_tokenizer,
    fp8_quantization_config,
    generation_config,
)

SHARD_BYTES = 2 * 2**30


@dataclass(frozen=True)
class Widths:
    """The text model's widths; the defaults are Maverick's, with four layers."""

    hidden: int = 5_120
    # Maverick's pattern: 0 dense, 1 MoE, 2 dense, 3 MoE without RoPE (every 4th is NoPE).
    layers: int = 4
    heads: int = 40
    kv_heads: int = 8
    head_dim: int = 128
    experts: int = 128
    expert_intermediate: int = 8_192
    dense_intermediate: int = 16_384
    vocab: int = 202_048


SMOKE = Widths(
    hidden=64, heads=4, kv_heads=2, head_dim=16, experts=16, expert_intermediate=96,
    dense_intermediate=128, vocab=2_048,
)  # fmt: skip


def _config(widths: Widths) -> Any:
    from dataclasses import replace

    from app.generators.demo import SIZES

    tokenizer = build_tokenizer()
    sizes = replace(
        SIZES,
        hidden=widths.hidden,
        layers=widths.layers,
        heads=widths.heads,
        kv_heads=widths.kv_heads,
        head_dim=widths.head_dim,
        experts=widths.experts,
        expert_intermediate=widths.expert_intermediate,
        dense_intermediate=widths.dense_intermediate,
    )
    config = build_config(tokenizer, sizes)
    config.get_text_config().vocab_size = widths.vocab
    return config, tokenizer


def _shapes(config: Any) -> Iterator[tuple[str, tuple[int, ...]]]:
    """Every tensor of the checkpoint with its shape, experts unfused as in the FP8 release."""
    with torch.device("meta"):
        model = Llama4ForConditionalGeneration(config)
    for name, tensor in model.state_dict().items():
        shape = tuple(tensor.shape)
        if name.endswith("experts.gate_up_proj"):
            prefix = name.removesuffix("gate_up_proj")
            experts, hidden, double = shape
            for e in range(experts):
                yield f"{prefix}{e}.gate_proj.weight", (double // 2, hidden)
                yield f"{prefix}{e}.up_proj.weight", (double // 2, hidden)
        elif name.endswith("experts.down_proj"):
            prefix = name.removesuffix("down_proj")
            experts, inter, hidden = shape
            for e in range(experts):
                yield f"{prefix}{e}.down_proj.weight", (hidden, inter)
        else:
            yield name, shape


def _draw(name: str, shape: tuple[int, ...], gen: torch.Generator) -> dict[str, torch.Tensor]:
    device = gen.device
    if re.search(r"experts\.\d+\.", name):
        # FP8 values spread over the format's range, scaled like a 0.02-std Linear.
        values = torch.randn(shape, generator=gen, device=device) * 64
        scale = torch.full((shape[0], 1), 0.02 / 64, dtype=torch.bfloat16, device=device)
        fp8 = values.clamp(-448, 448).to(torch.float8_e4m3fn)
        return {name: fp8.cpu(), name.removesuffix("weight") + "weight_scale": scale.cpu()}
    if "norm" in name and len(shape) == 1:
        return {name: torch.ones(shape, dtype=torch.bfloat16)}
    drawn = torch.randn(shape, generator=gen, device=device, dtype=torch.bfloat16) * 0.02
    return {name: drawn.cpu()}


class _ShardWriter:
    """Tensors into numbered shards of at most SHARD_BYTES, each written as soon as full."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.names: list[list[str]] = []
        self.pending: dict[str, torch.Tensor] = {}
        self.size = 0

    def add(self, name: str, tensor: torch.Tensor) -> None:
        if self.size and self.size + tensor.nbytes > SHARD_BYTES:
            self.flush()
        self.pending[name] = tensor
        self.size += tensor.nbytes

    def flush(self) -> None:
        if not self.pending:
            return
        path = self.folder / f"part-{len(self.names)}.safetensors"
        save_file(self.pending, str(path), metadata={"format": "pt"})
        self.names.append(list(self.pending))
        self.pending, self.size = {}, 0

    def finish(self) -> None:
        """Rename the parts as transformers names shards and write the index."""
        self.flush()
        count = len(self.names)
        weight_map: dict[str, str] = {}
        for number, names in enumerate(self.names):
            final = f"model-{number + 1:05d}-of-{count:05d}.safetensors"
            (self.folder / f"part-{number}.safetensors").rename(self.folder / final)
            weight_map.update(dict.fromkeys(names, final))
        total = sum((self.folder / f).stat().st_size for f in set(weight_map.values()))
        index = {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}
        text = json.dumps(index, indent=2) + "\n"
        (self.folder / "model.safetensors.index.json").write_text(text, encoding="utf-8")


def write_wide_fp8_checkpoint(folder: Path, widths: Widths = Widths(), seed: int = 16) -> Path:
    """Write the checkpoint into `folder` (created); return it."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    config, tokenizer = _config(widths)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    gen = torch.Generator(device=device).manual_seed(seed)
    writer = _ShardWriter(folder)
    for name, shape in _shapes(config):
        for key, tensor in _draw(name, shape, gen).items():
            writer.add(key, tensor)
    writer.finish()
    config_dict = config.to_dict()
    config_dict["quantization_config"] = fp8_quantization_config()
    text = json.dumps(config_dict, indent=2) + "\n"
    (folder / "config.json").write_text(text, encoding="utf-8")
    build_processor(tokenizer).save_pretrained(folder)
    generation_config(tokenizer, config).save_pretrained(folder)
    return folder
