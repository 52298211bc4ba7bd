"""Prefilling a prompt in steps aligned to absolute positions, so a kept cache is reusable.

Floating-point results depend on the shapes they are computed in: the keys and values
of position 700 come out a little different from a prefill of 900 tokens than from
one of 600 tokens followed by 300 (on the demo in bf16, by up to 0.005 in the logits),
and greedy decoding turns such a difference into another answer now and then.

The worker prefills in steps of `step` tokens that start at multiples of `step`
(`prefill_chunks`), whether it starts from a kept cache or from nothing, and a kept
cache is reusable at multiples of `PREFILL_CHUNK_TOKENS` (512). With 512-token steps
(``MAVERICK_DESK_PREFILL_STEP=512``) chunk k is the same computation, on the same
inputs, either way: a cache cut back to a multiple of 512 holds exactly what a cold
prefill would have computed. The default step is the largest that free memory allows,
up to the chunked-attention window (`StepPlanner`, `app.checkpoints.prefill_step`: up
to 8,192 tokens on Maverick; fewer, larger forwards, which is what a GPU runs well).
Then a follow-up that resumes inside a step computes the rest of that step in another
shape than a cold prefill does, and the reused positions may come from a shorter last
step of the earlier request: equal to a cold prefill's up to bf16 rounding, the same
math. The vision tower runs image by image (its batch is one image's tiles), so that
an image's rows do not depend on the other images of the prompt.

Only whole chunks computed here count as reusable; the prompt's last chunk runs in
`generate` (it yields the first token), and the positions of generated tokens are
computed one at a time, so neither is reused (`exact_length`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import torch
from transformers.modeling_outputs import BaseModelOutputWithPooling

# Re-exported: the chunk size belongs to the memory model, which preflight shares.
from app.checkpoints.memory_model import PREFILL_CHUNK_TOKENS as PREFILL_CHUNK_TOKENS
from app.checkpoints.prefill_step import largest_step, pinned_step
from app.checkpoints.preflight import ModelMemory, model_memory
from app.inference import window_attention
from app.inference.prompt_cache import PREFILL_RESERVE_BYTES, free_memory_bytes, model_devices

log = logging.getLogger(__name__)


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


class StepPlanner:
    """The prefill step of each request: pinned, or the largest that fits free memory.

    The room is what each device has free less the prefill reserve (what the prompt
    cache always leaves free); the need is `ModelMemory.step_bytes` (the step's masks,
    activations and the chunked layers' extra positions), per device.
    """

    def __init__(
        self,
        memory: ModelMemory,
        attn: str,
        devices: Sequence[Any],
        pinned: int | None = None,
        free_bytes: Callable[[], int] | None = None,
    ) -> None:
        self.memory = memory
        self.attn = attn
        self.pinned = pinned
        self._gpus = max(1, sum(1 for d in devices if getattr(d, "type", "cpu") == "cuda"))
        self._free = free_bytes or (lambda: free_memory_bytes(list(devices)))

    @classmethod
    def for_model(cls, loaded: Any, pinned: int | None = None) -> StepPlanner:
        """The planner of a loaded model; `pinned` (else ``MAVERICK_DESK_PREFILL_STEP``)."""
        model = loaded.model
        memory = model_memory(loaded.info)
        return cls(
            memory.with_window_attention(window_attention.applied(model)),
            str(model.config._attn_implementation),
            model_devices(model),
            pinned if pinned is not None else pinned_step(),
        )

    def step_for(self, tokens: int) -> int:
        """The step to prefill a prompt of `tokens` with."""
        if self.pinned is not None:
            return self.pinned
        room = self._free() // self._gpus - PREFILL_RESERVE_BYTES
        step = largest_step(
            lambda s: self.memory.step_bytes(tokens, self.attn, s, self._gpus),
            room,
            self.memory.step_window,
        )
        log.debug("prefill: %d-token steps for %d prompt tokens", step, tokens)
        return step


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
    """Prefill positions `start`..`stop` into `cache`, in forwards of `chunk` tokens.

    Each forward ends at a multiple of `chunk` (or at `stop`), so a forward never crosses
    one: the engine passes its step (`StepPlanner`), a multiple of 512 of at most 8,192.
    Returns where it stopped (`stop`, or earlier if `should_stop` said so between two
    forwards) and the image rows still to use, for the patch tokens after that.
    `after_chunk` runs after each forward (the engine bounds the cache's history there).
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
