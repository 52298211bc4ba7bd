"""The demo checkpoint: Llama 4 Maverick's architecture in miniature, with random weights.

`write_demo_checkpoint` writes two checkpoints side by side, deterministically:

- ``bf16/``: a tiny `Llama4ForConditionalGeneration` (interleaved MoE layers with
  top-1 routed experts plus the shared expert, chunked attention with a NoPE layer
  every fourth, the vision encoder with pixel shuffle and the projector), a
  byte-level BPE tokenizer trained here that carries the real Llama 4 special
  tokens, and a `Llama4Processor` with the real chat template and image tiling;
- ``fp8/``: its twin in the compressed-tensors format of Maverick's FP8 release
  (routed-expert Linear weights in float8_e4m3fn with per-channel scales, dynamic
  per-token FP8 activations, everything else in bf16).

The routed-expert weights of the bf16 model are drawn so that they are exactly
representable as FP8 times a power-of-two per-channel scale. Dequantising the twin
therefore reproduces the bf16 weights bit for bit, which lets the tests demand
identical greedy tokens from both and so catch a loader that leaves the expert
weights uninitialised (pitfall 3 in the brief).

Its answers are gibberish: the app labels it "demo: random weights" everywhere.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import (
    GenerationConfig,
    Llama4Config,
    Llama4ForConditionalGeneration,
    Llama4ImageProcessor,
    Llama4Processor,
    PreTrainedTokenizerFast,
)

from app.checkpoints.checkpoint import DEMO_MARKER, DEMO_MARKER_VERSION
from app.generators.demo_corpus import CORPUS

# The real Llama 4 special tokens the processor and chat template rely on.
SPECIAL_TOKENS: tuple[str, ...] = (
    "<|begin_of_text|>",
    "<|end_of_text|>",
    "<|header_start|>",
    "<|header_end|>",
    "<|eot|>",
    "<|eom|>",
    "<|python_start|>",
    "<|python_end|>",
    "<|finetune_right_pad|>",
    "<|image_start|>",
    "<|image|>",
    "<|patch|>",
    "<|tile_x_separator|>",
    "<|tile_y_separator|>",
    "<|image_end|>",
)

DEMO_NAME = "Llama 4 Maverick demo (random weights)"


@dataclass(frozen=True)
class DemoSizes:
    """Sizes of the miniature. Maverick's own figures are in the comments."""

    bpe_vocab: int = 1024  # 200,000 BPE tokens plus specials
    hidden: int = 64  # 5,120
    layers: int = 8  # 48; MoE on every other layer, NoPE on every fourth
    heads: int = 4  # 40
    kv_heads: int = 2  # 8
    head_dim: int = 16  # 128
    experts: int = 8  # 128 routed experts, top-1, plus a shared expert
    expert_intermediate: int = 96  # 8,192; not `hidden`, so a transposed expert cannot load
    dense_intermediate: int = 128  # 16,384
    attention_chunk: int = 256  # 8,192
    context: int = 65536  # 1,048,576
    vision_hidden: int = 32  # 1,408
    vision_layers: int = 2  # 34
    vision_heads: int = 2  # 16
    projector_dim: int = 64  # 4,096
    tile: int = 112  # 336 px tiles; 16 tokens a tile here, 144 on Maverick
    patch: int = 14  # 14
    max_tiles: int = 16  # 16


SIZES = DemoSizes()
SEED = 20250405  # Llama 4's release date


def build_tokenizer(sizes: DemoSizes = SIZES) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE on the fixed corpus and add the Llama 4 special tokens."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=sizes.bpe_vocab,
        min_frequency=2,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(list(CORPUS), trainer=trainer)
    # Specials come after the learned vocabulary, as in the real tokenizer.
    tok.add_special_tokens(list(SPECIAL_TOKENS))
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<|begin_of_text|>",
        eos_token="<|eot|>",
        pad_token="<|finetune_right_pad|>",
        model_max_length=sizes.context,
        padding_side="left",
    )


def build_config(tokenizer: PreTrainedTokenizerFast, sizes: DemoSizes = SIZES) -> Llama4Config:
    """Maverick's config.json with every size scaled down."""

    def token_id(token: str) -> int:
        found = tokenizer.convert_tokens_to_ids(token)
        assert isinstance(found, int)
        return found

    # Exactly the tokenizer's size, as in Maverick (202,048), so every id decodes.
    vocab = len(tokenizer)
    eos_ids = [token_id(t) for t in ("<|end_of_text|>", "<|eom|>", "<|eot|>")]
    text_config: dict[str, Any] = {
        "vocab_size": vocab,
        "hidden_size": sizes.hidden,
        "intermediate_size": sizes.expert_intermediate,
        "intermediate_size_mlp": sizes.dense_intermediate,
        "num_hidden_layers": sizes.layers,
        "num_attention_heads": sizes.heads,
        "num_key_value_heads": sizes.kv_heads,
        "head_dim": sizes.head_dim,
        "num_local_experts": sizes.experts,
        "num_experts_per_tok": 1,
        "interleave_moe_layer_step": 2,
        "no_rope_layer_interval": 4,
        "attention_chunk_size": sizes.attention_chunk,
        "max_position_embeddings": sizes.context,
        "use_qk_norm": False,  # as in Maverick (Scout uses it)
        "attn_temperature_tuning": True,
        "floor_scale": 8192,
        "attn_scale": 0.1,
        "rope_parameters": {"rope_type": "default", "rope_theta": 500000.0},
        "bos_token_id": token_id("<|begin_of_text|>"),
        "eos_token_id": eos_ids,
        "pad_token_id": token_id("<|finetune_right_pad|>"),
        "tie_word_embeddings": False,
    }
    vision_config: dict[str, Any] = {
        "hidden_size": sizes.vision_hidden,
        # Pixel shuffle at ratio 0.5 quadruples the channels before the adapter MLP.
        "intermediate_size": 4 * sizes.vision_hidden,
        "num_hidden_layers": sizes.vision_layers,
        "num_attention_heads": sizes.vision_heads,
        "image_size": sizes.tile,
        "patch_size": sizes.patch,
        "pixel_shuffle_ratio": 0.5,
        "projector_input_dim": sizes.projector_dim,
        "projector_output_dim": sizes.projector_dim,
        "vision_output_dim": sizes.projector_dim,
        "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0},
    }
    config = Llama4Config(
        text_config=text_config,
        vision_config=vision_config,
        boi_token_index=token_id("<|image_start|>"),
        eoi_token_index=token_id("<|image_end|>"),
        # The id the vision features replace is <|patch|>'s, not <|image|>'s.
        image_token_index=token_id("<|patch|>"),
        tie_word_embeddings=False,
    )
    config.architectures = ["Llama4ForConditionalGeneration"]
    return config


def build_processor(
    tokenizer: PreTrainedTokenizerFast, sizes: DemoSizes = SIZES
) -> Llama4Processor:
    """The real processor and chat template over smaller tiles."""
    image_processor = Llama4ImageProcessor(
        size={"height": sizes.tile, "width": sizes.tile}, max_patches=sizes.max_tiles
    )
    return Llama4Processor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        patch_size=sizes.patch,
        pixel_shuffle_ratio=0.5,
    )


def _fp8_exact(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Quantise a Linear weight [out, in] per output channel with power-of-two scales.

    Returns the FP8 weight and its float32 scale of shape [out, 1]; FP8 × scale is
    exactly representable in bf16.
    """
    fp8_max = torch.finfo(torch.float8_e4m3fn).max
    absmax = weight.float().abs().amax(dim=1, keepdim=True).clamp(min=1e-12)
    scale = torch.exp2(torch.ceil(torch.log2(absmax / fp8_max)))
    quantised = (weight.float() / scale).to(torch.float8_e4m3fn)
    return quantised, scale


@torch.no_grad()
def build_model(config: Llama4Config, seed: int = SEED) -> Llama4ForConditionalGeneration:
    """Random bf16 weights, with routed experts made FP8-exact."""
    torch.manual_seed(seed)
    model = Llama4ForConditionalGeneration(config)
    # Cast parameters only: the vision rotary buffer is complex and not saved.
    for param in model.parameters():
        param.data = param.data.to(torch.bfloat16)
    # The default init draws the routed-expert tensors as zeros or leaves them
    # uninitialised; draw them like any other Linear so they do something.
    std = config.get_text_config().initializer_range * 8
    for module in model.modules():
        if type(module).__name__ != "Llama4TextExperts":
            continue
        params: tuple[Any, ...] = (module.gate_up_proj, module.down_proj)
        for param in params:
            drawn = torch.randn(param.shape, dtype=torch.float32) * std
            # Quantise in the Linear layout [experts, out, in], then store back.
            linear = drawn.transpose(1, 2)
            exact = torch.stack([_dequantised(*_fp8_exact(w)) for w in linear])
            param.copy_(exact.transpose(1, 2).to(torch.bfloat16))
    model.eval()
    return model


def _dequantised(quantised: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return quantised.float() * scale


def generation_config(tokenizer: PreTrainedTokenizerFast, config: Llama4Config) -> GenerationConfig:
    """Maverick's published defaults: sampling at temperature 0.6, top_p 0.9."""
    text = config.get_text_config()
    return GenerationConfig(
        bos_token_id=text.bos_token_id,
        eos_token_id=text.eos_token_id,
        pad_token_id=text.pad_token_id,
        do_sample=True,
        temperature=0.6,
        top_p=0.9,
    )


def _write_marker(directory: Path, precision: str) -> None:
    marker = {
        "format_version": DEMO_MARKER_VERSION,
        "name": DEMO_NAME,
        "precision": precision,
        "random_weights": True,
        "note": (
            "Maverick's architecture in miniature with random weights; its answers are gibberish."
        ),
    }
    (directory / DEMO_MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")


def write_demo_checkpoint(out_dir: Path, shard_size: str = "450KB") -> tuple[Path, Path]:
    """Write ``out_dir/bf16`` and ``out_dir/fp8``; return both paths.

    Written to a temporary sibling first and renamed, so an interrupted run never
    leaves a half-written checkpoint where the app looks for one.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = out_dir / ".writing"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir()

    tokenizer = build_tokenizer()
    config = build_config(tokenizer)
    model = build_model(config)
    processor = build_processor(tokenizer)

    bf16 = staging / "bf16"
    model.save_pretrained(bf16, max_shard_size=shard_size)
    processor.save_pretrained(bf16)
    generation_config(tokenizer, config).save_pretrained(bf16)
    _write_marker(bf16, "bf16")

    fp8 = staging / "fp8"
    write_fp8_twin(bf16, fp8)
    _write_marker(fp8, "fp8")

    for name in ("bf16", "fp8"):
        target = out_dir / name
        if target.exists():
            shutil.rmtree(target)
        (staging / name).rename(target)
    staging.rmdir()
    return out_dir / "bf16", out_dir / "fp8"


def fp8_quantization_config() -> dict[str, Any]:
    """The compressed-tensors block of Maverick FP8's config.json."""
    return {
        "quant_method": "compressed-tensors",
        "format": "float-quantized",
        "quantization_status": "compressed",
        "config_groups": {
            "group_0": {
                "targets": ["Linear"],
                "format": "float-quantized",
                "weights": {
                    "num_bits": 8,
                    "type": "float",
                    "symmetric": True,
                    "strategy": "channel",
                    "dynamic": False,
                    "observer": "minmax",
                },
                "input_activations": {
                    "num_bits": 8,
                    "type": "float",
                    "symmetric": True,
                    "strategy": "token",
                    "dynamic": True,
                    "observer": None,
                },
                "output_activations": None,
            }
        },
        # Only the routed experts are FP8; everything else stays bf16.
        "ignore": [
            "re:.*self_attn.*",
            "re:.*router.*",
            "re:.*shared_expert.*",
            r"re:.*feed_forward\.(gate|up|down)_proj$",
            "re:.*vision_model.*",
            "re:.*multi_modal_projector.*",
            "re:.*lm_head.*",
        ],
        "kv_cache_scheme": None,
        "sparsity_config": {},
    }


def write_fp8_twin(bf16_dir: Path, fp8_dir: Path) -> None:
    """Convert a bf16 demo checkpoint into the FP8 compressed-tensors layout.

    The fused expert tensors (``experts.gate_up_proj`` [E, in, 2·out] and
    ``experts.down_proj`` [E, out, in]) become one Linear per expert, as in the
    FP8 release: ``experts.{e}.{gate,up,down}_proj.weight`` in FP8 with a
    per-channel ``weight_scale``.
    """
    fp8_dir.mkdir(parents=True)
    index_path = bf16_dir / "model.safetensors.index.json"
    index = json.loads(index_path.read_text(encoding="utf-8"))
    new_map: dict[str, str] = {}
    for shard in sorted(set(index["weight_map"].values())):
        tensors = load_file(str(bf16_dir / shard))
        out: dict[str, torch.Tensor] = {}
        for name, tensor in tensors.items():
            if name.endswith("experts.gate_up_proj"):
                prefix = name.removesuffix("gate_up_proj")
                half = tensor.shape[2] // 2
                for e in range(tensor.shape[0]):
                    for proj, part in (
                        ("gate_proj", tensor[e, :, :half]),
                        ("up_proj", tensor[e, :, half:]),
                    ):
                        _put_fp8(out, f"{prefix}{e}.{proj}", part.t())
            elif name.endswith("experts.down_proj"):
                prefix = name.removesuffix("down_proj")
                for e in range(tensor.shape[0]):
                    _put_fp8(out, f"{prefix}{e}.down_proj", tensor[e].t())
            else:
                out[name] = tensor
        save_file(out, str(fp8_dir / shard), metadata={"format": "pt"})
        new_map.update(dict.fromkeys(out, shard))
    new_index = {
        "metadata": {"total_size": _total_size(fp8_dir, new_map)},
        "weight_map": dict(sorted(new_map.items())),
    }
    (fp8_dir / "model.safetensors.index.json").write_text(
        json.dumps(new_index, indent=2) + "\n", encoding="utf-8"
    )
    config = json.loads((bf16_dir / "config.json").read_text(encoding="utf-8"))
    config["quantization_config"] = fp8_quantization_config()
    (fp8_dir / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    for item in bf16_dir.iterdir():
        if item.name.endswith(".safetensors") or item.name in {"config.json", index_path.name}:
            continue
        shutil.copy2(item, fp8_dir / item.name)


def _put_fp8(out: dict[str, torch.Tensor], module: str, weight: torch.Tensor) -> None:
    quantised, scale = _fp8_exact(weight.contiguous())
    if not torch.equal(_dequantised(quantised, scale).to(weight.dtype), weight):
        raise ValueError(f"{module}: expert weight is not FP8-exact; rebuild the demo checkpoint")
    out[f"{module}.weight"] = quantised.contiguous()
    out[f"{module}.weight_scale"] = scale.to(torch.bfloat16).contiguous()


def _total_size(directory: Path, weight_map: dict[str, str]) -> int:
    total = 0
    for shard in set(weight_map.values()):
        for tensor in load_file(str(directory / shard)).values():
            total += tensor.numel() * tensor.element_size()
    return total
