"""The demo checkpoint: deterministic, Maverick's layout in miniature, and a faithful FP8 twin."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from app.checkpoints.checkpoint import inspect_checkpoint, read_safetensors_header
from app.generators.demo import SPECIAL_TOKENS, write_demo_checkpoint


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_written_twice_byte_identical(tmp_path: Path, demo_root: Path) -> None:
    write_demo_checkpoint(tmp_path / "again")
    assert _digest(tmp_path / "again") == _digest(demo_root)


def test_config_is_maverick_in_miniature(demo_bf16: Path) -> None:
    config = json.loads((demo_bf16 / "config.json").read_text())
    text, vision = config["text_config"], config["vision_config"]
    layers = text["num_hidden_layers"]
    assert config["architectures"] == ["Llama4ForConditionalGeneration"]
    assert text["moe_layers"] == list(range(1, layers, 2))  # MoE on every other layer
    assert text["num_experts_per_tok"] == 1 and text["num_local_experts"] > 1
    assert text["no_rope_layers"] == [
        int((i + 1) % 4 != 0) for i in range(layers)
    ]  # NoPE every 4th
    assert text["attention_chunk_size"] > 0
    assert vision["intermediate_size"] == 4 * vision["hidden_size"]  # pixel shuffle 0.5
    assert vision["pixel_shuffle_ratio"] == 0.5
    tokenizer = json.loads((demo_bf16 / "tokenizer.json").read_text())
    ids = {t["content"]: t["id"] for t in tokenizer["added_tokens"]}
    assert set(SPECIAL_TOKENS) <= set(ids)
    assert config["image_token_index"] == ids["<|patch|>"]
    assert config["boi_token_index"] == ids["<|image_start|>"]
    assert text["vocab_size"] == max(ids.values()) + 1
    assert tokenizer["model"]["type"] == "BPE"
    assert tokenizer["pre_tokenizer"]["type"] == "ByteLevel"


def test_shared_expert_and_routed_experts_present(demo_bf16: Path) -> None:
    info = inspect_checkpoint(demo_bf16)
    names = {t.name for t in info.tensors}
    assert any(n.endswith("layers.1.feed_forward.shared_expert.gate_proj.weight") for n in names)
    assert any(n.endswith("layers.1.feed_forward.experts.gate_up_proj") for n in names)
    assert any(n.endswith("layers.0.feed_forward.gate_proj.weight") for n in names)  # dense layer
    assert any("vision_model" in n for n in names)
    assert any("multi_modal_projector" in n for n in names)
    assert len(info.shards) > 1 and (demo_bf16 / "model.safetensors.index.json").is_file()
    assert {t.dtype for t in info.tensors} == {"BF16"}
    assert info.is_demo and info.precision == "bf16"


def test_fp8_twin_layout(demo_fp8: Path) -> None:
    config = json.loads((demo_fp8 / "config.json").read_text())
    quant = config["quantization_config"]
    assert quant["quant_method"] == "compressed-tensors"
    assert quant["format"] == "float-quantized"
    group = quant["config_groups"]["group_0"]
    weights = group["weights"]
    assert (weights["type"], weights["num_bits"], weights["strategy"]) == ("float", 8, "channel")
    assert group["input_activations"]["dynamic"] is True
    assert group["input_activations"]["strategy"] == "token"
    dtypes: dict[str, str] = {}
    shapes: dict[str, list[int]] = {}
    for shard in sorted(demo_fp8.glob("*.safetensors")):
        for name, entry in read_safetensors_header(shard).items():
            if name != "__metadata__":
                dtypes[name] = entry["dtype"]
                shapes[name] = entry["shape"]
    experts = [n for n in dtypes if ".experts." in n and n.endswith(".weight")]
    assert experts and all(dtypes[n] == "F8_E4M3" for n in experts)
    for name in experts:
        scale = name + "_scale"
        assert shapes[scale] == [shapes[name][0], 1]  # one scale per output channel
    others = [n for n in dtypes if ".experts." not in n]
    assert all(dtypes[n] == "BF16" for n in others)
    assert any("shared_expert" in n for n in others)
    assert any("self_attn" in n for n in others)
    assert any("router" in n for n in others)
    info = inspect_checkpoint(demo_fp8)
    assert info.precision == "fp8 (compressed-tensors)"
    assert info.total_parameters == inspect_checkpoint(demo_fp8.parent / "bf16").total_parameters
