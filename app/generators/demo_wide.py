"""The "wide" demo: the demo's miniature with Maverick's 128 routed experts, in memory.

The tests and `bench/sparse_experts.py` compare the sparse expert dispatch with
transformers' dense path on it: with 128 experts a token skips 127 of them, as
on Maverick, where the 8-expert demo hides most of the difference. Nothing is
written to disk; the tokenizer is the demo's.
"""

from __future__ import annotations

from dataclasses import replace

from transformers import Llama4ForConditionalGeneration, PreTrainedTokenizerFast

from app.generators.demo import SIZES, DemoSizes, build_config, build_model, build_tokenizer

WIDE_EXPERTS = 128  # Maverick's routed experts


def wide_sizes(
    experts: int = WIDE_EXPERTS, hidden: int = 64, layers: int = 4, intermediate: int = 96
) -> DemoSizes:
    """The demo's sizes with `experts` routed experts (top-1) and the widths given."""
    return replace(
        SIZES,
        experts=experts,
        hidden=hidden,
        layers=layers,
        head_dim=hidden // SIZES.heads,
        expert_intermediate=intermediate,
        dense_intermediate=2 * intermediate,
        projector_dim=hidden,
    )


def build_wide(
    sizes: DemoSizes | None = None, tokenizer: PreTrainedTokenizerFast | None = None
) -> tuple[Llama4ForConditionalGeneration, PreTrainedTokenizerFast]:
    """A random, deterministic model of `sizes` (default `wide_sizes()`) and its tokenizer."""
    tokenizer = tokenizer or build_tokenizer()
    model = build_model(build_config(tokenizer, sizes or wide_sizes()))
    return model, tokenizer
