"""A Llama 4 MoE layer with per-expert FP8 Linear experts, as compressed-tensors loads on a GPU.

Shared by tests/inference/test_grouped_experts.py and bench/moe_launches.py.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from transformers.integrations.compressed_tensors import CompressedTensorsFP8Linear
from transformers.models.llama4.modeling_llama4 import Llama4TextMoe
from transformers.quantizers.base import SequentialLlama4TextExperts


def fp8_moe(config: Any) -> Llama4TextMoe:
    """A MoE layer for `config` (a Llama 4 text config) with random FP8 experts, seed 3."""
    torch.manual_seed(3)
    moe = Llama4TextMoe(config).to(torch.bfloat16).eval()  # before FP8: .to() would cast it
    moe.experts = SequentialLlama4TextExperts(config)
    for mlp in moe.experts:
        for name in ("gate_proj", "up_proj", "down_proj"):
            dense = getattr(mlp, name)
            fp8 = CompressedTensorsFP8Linear(dense.in_features, dense.out_features)
            weight = torch.randn(dense.out_features, dense.in_features) * 0.5
            fp8.weight = nn.Parameter(weight.to(torch.float8_e4m3fn), requires_grad=False)
            scale = torch.rand(1, dense.out_features) * 0.1 + 0.01
            fp8.weight_scale = nn.Parameter(scale, requires_grad=False)
            setattr(mlp, name, fp8)
    return moe
