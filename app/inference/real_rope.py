"""Llama 4's rotary embedding in real numbers inside a compiled graph.

transformers turns the rotation into complex numbers (`torch.polar`, `view_as_complex`,
a complex product, `view_as_real`). Inductor generates no code for complex tensors: each
of those ops stays a separate aten call in the compiled decode step, four launches a RoPE
layer (three in four of Maverick's 48). The same rotation on the real and imaginary
parts, ``(a, b) · (cos θ, sin θ) = (a cos θ − b sin θ, a sin θ + b cos θ)``, fuses into the
kernels around it.

Only what runs under `torch.compile` changes: the rotary module returns (cos, sin) pairs
instead of a complex tensor while compiling, and `apply_rotary_emb` takes that form as
well as the complex one, so eager forwards (prefill, `generate`) compute exactly as
before.
"""

from __future__ import annotations

import logging
from typing import Any

import torch
from transformers.models.llama4 import modeling_llama4

log = logging.getLogger(__name__)

# Rope types whose inverse frequencies are fixed at load (dynamic ones update them).
FIXED_ROPE = frozenset({"default", "llama3", "linear"})
_complex_apply = modeling_llama4.apply_rotary_emb


def _rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    pairs = x.float().reshape(*x.shape[:-1], -1, 2)
    a, b = pairs[..., 0], pairs[..., 1]
    turned = torch.stack((a * cos - b * sin, a * sin + b * cos), dim=-1)
    return turned.flatten(3).type_as(x)


def apply_rotary_emb(
    xq: torch.Tensor, xk: torch.Tensor, freqs_cis: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The `apply_rotary_emb` of transformers, also for freqs given as real (cos, sin) pairs."""
    if freqs_cis.is_complex():
        result: tuple[torch.Tensor, torch.Tensor] = _complex_apply(xq, xk, freqs_cis)
        return result
    cos, sin = freqs_cis[:, :, None, :, 0], freqs_cis[:, :, None, :, 1]
    return _rotate(xq, cos, sin), _rotate(xk, cos, sin)


def install_real_rope(model: Any) -> bool:
    """Give `model`'s text rotary embedding the real form under compile; False if it cannot."""
    rotary = model.language_model.model.rotary_emb
    if getattr(rotary, "_real_under_compile", False):
        return True
    rope_type = str(getattr(rotary, "rope_type", "default"))
    if rope_type not in FIXED_ROPE:
        log.info("decode: rope type %s keeps complex numbers in the compiled step", rope_type)
        return False
    eager = rotary.forward

    def forward(x: torch.Tensor, position_ids: torch.Tensor) -> torch.Tensor:
        if not torch.compiler.is_compiling():
            return eager(x, position_ids)  # type: ignore[no-any-return]
        inv_freq = rotary.inv_freq.to(device=x.device, dtype=torch.float)
        freqs = position_ids[..., None].float() * inv_freq
        pairs: torch.Tensor = torch.stack((freqs.cos(), freqs.sin()), dim=-1)
        return pairs * float(rotary.attention_scaling)

    rotary.forward = forward
    rotary._real_under_compile = True
    modeling_llama4.apply_rotary_emb = apply_rotary_emb
    return True
