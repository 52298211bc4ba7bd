"""Parameter counts of a Llama 4 checkpoint worked out from its config.json alone.

Used where the safetensors headers cannot be counted (a download still in
progress) and to check the header count against the architecture. The layout
follows transformers' `Llama4ForConditionalGeneration`: fused routed experts
(gate_up and down), a shared expert and a router on every MoE layer, a dense MLP
on the others, biased attention and MLPs in the vision tower.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ParameterCount:
    """Parameters by part; `active` is what one text token passes through."""

    total: int
    routed: int  # all routed-expert weights
    vision: int  # vision tower and projector (they run on image tiles, not per token)
    experts: int
    top_k: int
    moe_layers: int

    @property
    def active(self) -> int:
        """Language-model parameters per token: everything but the unused routed experts."""
        return (
            self.total
            - self.vision
            - self.routed
            + self.routed * self.top_k // max(self.experts, 1)
        )


def text_config(config: dict[str, Any]) -> dict[str, Any]:
    """The language model's part of a Llama 4 config (or the config itself for text-only)."""
    text = config.get("text_config")
    return text if isinstance(text, dict) else config


def moe_layer_indices(text: dict[str, Any]) -> list[int]:
    """Which decoder layers hold routed experts."""
    layers = int(text.get("num_hidden_layers") or 0)
    explicit = text.get("moe_layers")
    if explicit is not None:
        return [int(i) for i in explicit]
    step = int(text.get("interleave_moe_layer_step") or 1)
    if int(text.get("num_local_experts") or 0) <= 1 or step <= 0:
        return []
    return list(range(step - 1, layers, step))


def _vision_parameters(config: dict[str, Any], text_hidden: int) -> int:
    vision = config.get("vision_config")
    if not isinstance(vision, dict):
        return 0
    hidden = int(vision["hidden_size"])
    inter = int(vision["intermediate_size"])
    layers = int(vision["num_hidden_layers"])
    patch = int(vision.get("patch_size") or 14)
    channels = int(vision.get("num_channels") or 3)
    image = int(vision.get("image_size") or 336)
    patches = (image // patch) ** 2 + 1
    per_layer = (
        4 * (hidden * hidden + hidden)  # q, k, v, o with biases
        + (hidden * inter + inter)
        + (inter * hidden + hidden)  # fc1, fc2 with biases
        + 4 * hidden  # two LayerNorms, weight and bias
    )
    embeddings = channels * patch * patch * hidden + hidden + patches * hidden + 4 * hidden
    projector_in = int(vision.get("projector_input_dim") or 4096)
    projector_out = int(vision.get("projector_output_dim") or 4096)
    adapter = inter * projector_in + projector_out * projector_out
    projector = int(vision.get("vision_output_dim") or projector_out) * text_hidden
    return layers * per_layer + embeddings + adapter + projector


def parameters_from_config(config: dict[str, Any]) -> ParameterCount:
    """Total, routed-expert and vision parameters from a Llama 4 config.json."""
    text = text_config(config)
    hidden = int(text["hidden_size"])
    layers = int(text["num_hidden_layers"])
    heads = int(text["num_attention_heads"])
    kv_heads = int(text.get("num_key_value_heads") or heads)
    head_dim = int(text.get("head_dim") or hidden // heads)
    vocab = int(text["vocab_size"])
    experts = int(text.get("num_local_experts") or 1)
    top_k = int(text.get("num_experts_per_tok") or 1)
    inter = int(text.get("intermediate_size") or 0)
    inter_mlp = int(text.get("intermediate_size_mlp") or inter)
    bias = 1 if text.get("attention_bias") else 0
    attention = (
        hidden * heads * head_dim  # q
        + 2 * hidden * kv_heads * head_dim  # k, v
        + heads * head_dim * hidden  # o
        + bias * (heads * head_dim + 2 * kv_heads * head_dim + hidden)
    )
    moe = set(moe_layer_indices(text))
    routed_per_layer = experts * 3 * hidden * inter
    moe_extra = 3 * hidden * inter + experts * hidden  # shared expert, router
    dense = 3 * hidden * inter_mlp
    total = layers * (attention + 2 * hidden) + hidden  # layers with their norms, final norm
    total += len(moe) * (routed_per_layer + moe_extra) + (layers - len(moe)) * dense
    tied = bool(config.get("tie_word_embeddings") or text.get("tie_word_embeddings"))
    total += vocab * hidden * (1 if tied else 2)
    vision = _vision_parameters(config, hidden)
    return ParameterCount(
        total=total + vision,
        routed=len(moe) * routed_per_layer,
        vision=vision,
        experts=experts,
        top_k=top_k,
        moe_layers=len(moe),
    )
