"""Prefilling a prompt in chunks aligned to absolute positions, so a kept cache is exact.

Floating-point results depend on the shapes they are computed in: the keys and values
of position 700 come out a little different from a prefill of 900 tokens than from
one of 600 tokens followed by 300 (on the demo in bf16, by up to 0.005 in the logits),
and greedy decoding turns such a difference into another answer now and then. So the
worker always prefills in chunks of `chunk` tokens that start at multiples of
`chunk`, whether it starts from a kept cache or from nothing: chunk k is then the same
computation, on the same inputs, either way, and a cache cut back to a multiple of
`chunk` holds exactly what a cold prefill would have computed. For the same reason
the vision tower runs image by image (its batch is one image's tiles).

Only whole chunks computed here count as reusable; the prompt's last chunk runs in
`generate` (it yields the first token), and the positions of generated tokens are
computed one at a time, so neither is reused (`exact_length`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from transformers.modeling_outputs import BaseModelOutputWithPooling

# Re-exported: the chunk size belongs to the memory model, which preflight shares.
from app.checkpoints.memory_model import PREFILL_CHUNK_TOKENS as PREFILL_CHUNK_TOKENS


def exact_length(prompt_tokens: int, chunk: int) -> int:
    """How many leading positions of a finished request's cache a later prompt may reuse."""
    return max(0, (prompt_tokens - 1) // chunk) * chunk


def last_chunk_start(start: int, prompt_tokens: int, chunk: int) -> int:
    """Where the chunk that `generate` prefills (the one with the last prompt token) starts."""
    return max(start, (prompt_tokens - 1) // chunk * chunk)


def image_rows(model: Any, pixels: Sequence[torch.Tensor]) -> torch.Tensor | None:
    """The vision tower's features of each image, one call per image, flattened to rows."""
    rows = []
    for pixel_values in pixels:
        out = model.get_image_features(pixel_values=pixel_values, return_dict=True)
        hidden = out.last_hidden_state
        rows.append(hidden.reshape(-1, hidden.shape[-1]))
    return torch.cat(rows) if rows else None


def encoder_outputs(rows: torch.Tensor | None) -> dict[str, Any]:
    """`mm_encoder_outputs` for a forward whose patch tokens take these rows, in order."""
    if rows is None or rows.shape[0] == 0:
        return {}
    return {"mm_encoder_outputs": {"image": BaseModelOutputWithPooling(last_hidden_state=rows)}}


def prefill_chunks(
    model: Any,
    input_ids: torch.Tensor,
    cache: Any,
    start: int,
    stop: int,
    rows: torch.Tensor | None,
    patch_id: int,
    chunk: int,
    should_stop: Callable[[], bool],
    after_chunk: Callable[[], None] = lambda: None,
) -> tuple[int, torch.Tensor | None]:
    """Prefill positions `start`..`stop` into `cache`, chunk by chunk.

    Returns where it stopped (`stop`, or earlier if `should_stop` said so between two
    chunks) and the image rows still to use, for the patch tokens after that.
    `after_chunk` runs after each chunk (the engine bounds the cache's history there).
    """
    position, used = start, 0
    while position < stop and not should_stop():
        end = min(stop, (position // chunk + 1) * chunk)
        piece = input_ids[:, position:end]
        patches = int((piece == patch_id).sum())
        piece_rows = rows[used : used + patches] if rows is not None and patches else None
        used += patches
        model(
            input_ids=piece,
            attention_mask=torch.ones((1, end), dtype=torch.long, device=input_ids.device),
            past_key_values=cache,
            use_cache=True,
            logits_to_keep=1,
            **encoder_outputs(piece_rows),
        )
        after_chunk()
        position = end
    return position, rows[used:] if rows is not None else None
