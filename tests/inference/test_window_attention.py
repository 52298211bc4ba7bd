"""Chunked-attention layers prefill window by window, as exactly as over the masked square."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from transformers.integrations.sdpa_attention import sdpa_attention_forward

from app.checkpoints.prefill_step import WINDOW_ATTENTION_ENV
from app.generators.demo import build_tokenizer
from app.generators.demo_wide import build_wide, wide_sizes
from app.inference import window_attention
from app.inference.prompt_cache import new_cache, trim
from app.inference.window_attention import WindowSpan, window_blocks

WINDOW = 16


def _models() -> tuple[Any, Any]:
    """Two copies of the same random wide demo: one windowed, one on transformers' mask."""
    tokenizer = build_tokenizer()
    windowed, _ = build_wide(wide_sizes(layers=4), tokenizer)
    masked, _ = build_wide(wide_sizes(layers=4), tokenizer)
    assert window_attention.apply(windowed)
    return windowed.eval(), masked.eval()


def _attention(model: Any) -> Any:
    config = model.config.get_text_config()
    index = list(config.layer_types).index("chunked_attention")
    return window_attention._attention_module(model, index)


@pytest.mark.parametrize(
    ("first", "steps", "held"),
    [
        (0, 40, 40),  # a cold prefill over 2½ windows
        (24, 40, 64),  # starting mid-window after keys held before
        (32, 16, 48),  # exactly one window, starting it
        (40, 30, 45),  # a cache cut shorter than its window: all it has
    ],
)
def test_blocks_equal_sdpa_over_the_masked_square(first: int, steps: int, held: int) -> None:
    windowed, _ = _models()
    module = _attention(windowed)
    config = windowed.config.get_text_config()
    gen = torch.Generator().manual_seed(first)
    head_dim = config.head_dim

    def rand(heads: int, n: int) -> torch.Tensor:
        return torch.randn(1, heads, n, head_dim, generator=gen)

    query = rand(config.num_attention_heads, steps)
    key, value = rand(config.num_key_value_heads, held), rand(config.num_key_value_heads, held)
    end = first + steps
    rows = torch.arange(first, end)[:, None]
    cols = torch.arange(end - held, end)[None, :]
    mask = ((cols <= rows) & (cols // WINDOW == rows // WINDOW))[None, None]
    want, _ = sdpa_attention_forward(module, query, key, value, mask, scaling=module.scaling)
    got = window_blocks(module, query, key, value, WindowSpan(first, WINDOW, held))
    assert got.shape == want.shape
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


def _prefill(model: Any, ids: torch.Tensor, steps: list[int]) -> torch.Tensor:
    """The engine's way: steps into a recording cache, bounded after each; the last logits."""
    cache = new_cache(model.config.get_text_config())
    start, logits = 0, None
    with torch.inference_mode():
        for size in steps:
            out = model(ids[:, start : start + size], past_key_values=cache, logits_to_keep=1)
            trim(cache, 64, copy=False)
            start, logits = start + size, out.logits
    assert logits is not None and start == ids.shape[1]
    return logits.float()


def test_prefill_in_steps_gives_the_masked_paths_logits(monkeypatch: pytest.MonkeyPatch) -> None:
    windowed, masked = _models()
    spans: list[WindowSpan] = []
    blocks = window_attention.window_blocks

    def spy(module: Any, query: Any, key: Any, value: Any, span: WindowSpan, **kw: Any) -> Any:
        spans.append(span)
        return blocks(module, query, key, value, span, **kw)

    monkeypatch.setattr(window_attention, "window_blocks", spy)
    window = windowed.config.get_text_config().attention_chunk_size
    tokenizer = build_tokenizer()
    ids = torch.randint(
        0, len(tokenizer) - 20, (1, 3 * window + 37), generator=torch.Generator().manual_seed(3)
    )
    # A cold step over two windows, then steps that start mid-window after a trimmed history.
    steps = [2 * window + 5, window - 40, 72]
    got, want = _prefill(windowed, ids, steps), _prefill(masked, ids, steps)
    torch.testing.assert_close(got, want, atol=0.02, rtol=0)  # bf16: eps 0.0078
    chunked = sum(
        kind == "chunked_attention" for kind in windowed.config.get_text_config().layer_types
    )
    assert [s.first_position for s in spans] == [0] * chunked + [2 * window + 5] * chunked + [
        3 * window - 35
    ] * chunked


def test_a_padded_batch_keeps_transformers_mask() -> None:
    windowed, masked = _models()
    window = windowed.config.get_text_config().attention_chunk_size
    ids = torch.randint(5, 200, (2, window + 30), generator=torch.Generator().manual_seed(4))
    padding = torch.ones_like(ids)
    padding[1, :7] = 0  # left padding: the batch keeps the masked path
    with torch.inference_mode():
        got = windowed(ids, attention_mask=padding).logits[:, -1].float()
        want = masked(ids, attention_mask=padding).logits[:, -1].float()
    torch.testing.assert_close(got, want, atol=0.02, rtol=0)


def test_off_leaves_the_model_on_the_masked_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(WINDOW_ATTENTION_ENV, "off")
    model, _ = build_wide(wide_sizes(layers=4), build_tokenizer())
    assert not window_attention.apply(model)
    assert not window_attention.applied(model)
