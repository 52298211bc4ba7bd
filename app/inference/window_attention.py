"""Chunked-attention layers attend window by window in a prefill, not over a masked rectangle.

Maverick's chunked-attention layers (three of every four) let a token see only the
earlier tokens of its own 8,192-token window. transformers gives sdpa a dense boolean
mask over the previous window's keys and the step's (8,191 + q) and sdpa computes the
whole masked rectangle: an 8,192-token step computes 8,192 × 16,383 scores where a
causal 8,192 × 8,192 is needed, and a step spanning several windows (or one forward of
a whole prompt) computes its whole square. The mask itself is q × k bytes a step.

Here those layers run one sdpa per window the step's queries fall in, on the keys of
that window only: a query block that starts its window is plain causal (no mask at all);
one that continues a window from the cache gets a small block mask. Nothing changes
where that would not be exact: a step of one token (decoding, and the compiled decode
step with its static cache), a batch with padding, a cache that does not say where its
queries start, or a model this was not applied to; those keep transformers' mask.

How it hooks in: the mask function that transformers calls for the "sdpa"
implementation returns, for a prefill step of a chunked layer of an applied model, a
`WindowSpan` (where the step's queries start, and the window) instead of a mask; the
attention function, also registered for "sdpa", turns a `WindowSpan` into the blocks
and hands anything else to transformers' own sdpa attention unchanged. `apply` checks
the blocks once against the masked square on a small input and leaves the model on
transformers' path, saying so, if they differ.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import torch
from transformers import AttentionInterface, AttentionMaskInterface
from transformers.integrations.sdpa_attention import sdpa_attention_forward

try:  # transformers' masks as functions of their sizes (5.x); else this stays off
    from transformers.masking_utils import sdpa_mask
except ImportError:  # pragma: no cover (another transformers)
    sdpa_mask = None  # type: ignore[assignment]

from app.checkpoints.prefill_step import WINDOW_ATTENTION_ENV, window_attention_on

log = logging.getLogger(__name__)

ON_LABEL = "window by window in prefill (checked at load)"
OFF_LABEL = "masked (transformers)"
FLAG = "_maverick_window_attention"  # set on the text config of a model this applies to
CHECK_TOLERANCE = 2e-2  # the largest difference the self-check accepts (bf16 eps 0.0078)


@dataclass(frozen=True, eq=False)
class WindowSpan:
    """Stands for a chunked layer's mask in one prefill step: where its queries start."""

    first_position: int  # the absolute position of the step's first query
    window: int  # the chunked-attention window (attention_chunk_size)
    keys: int  # how many keys the layer will hold: up to and including the last query
    mask_args: tuple[Any, ...] = ()
    mask_kwargs: dict[str, Any] = field(default_factory=dict)

    def masked(self) -> Any:
        """Transformers' own mask for the step (for keys not laid out as expected)."""
        return sdpa_mask(*self.mask_args, **self.mask_kwargs)


def _window_mask(*args: Any, **kwargs: Any) -> Any:
    config = kwargs.get("config")
    window = kwargs.get("local_size")
    first, steps = kwargs.get("q_offset"), kwargs.get("q_length")
    keys, key_offset = kwargs.get("kv_length"), kwargs.get("kv_offset")
    padding = kwargs.get("attention_mask")
    if (
        config is not None
        and getattr(config, FLAG, False)
        and window is not None
        and window == getattr(config, "attention_chunk_size", None)
        and isinstance(first, int)
        and isinstance(steps, int)
        and steps > 1  # a prefill step; decoding keeps its mask
        and isinstance(keys, int)
        and isinstance(key_offset, int)
        and keys + key_offset == first + steps  # the keys end at the step's last query
        and kwargs.get("batch_size") == 1
        and (padding is None or bool(padding.all()))  # one sync a prefill step: no padding
    ):
        return WindowSpan(first, int(window), keys, args, kwargs)
    return sdpa_mask(*args, **kwargs)


def _window_attention(
    module: torch.nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: Any,
    **kwargs: Any,
) -> tuple[torch.Tensor, None]:
    if not isinstance(attention_mask, WindowSpan):
        return sdpa_attention_forward(module, query, key, value, attention_mask, **kwargs)
    if key.shape[2] != attention_mask.keys:  # not the cache layout the span was made for
        mask = attention_mask.masked()
        return sdpa_attention_forward(module, query, key, value, mask, **kwargs)
    return window_blocks(module, query, key, value, attention_mask, **kwargs), None


def window_blocks(
    module: torch.nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    span: WindowSpan,
    **kwargs: Any,
) -> torch.Tensor:
    """A prefill step's attention on its own windows, as `sdpa_attention_forward` gives it.

    The keys a dynamic cache layer holds are the positions just before and up to the
    step's last query, so key i stands for position `last + 1 - len(keys) + i`.
    """
    kwargs.pop("is_causal", None)
    steps = query.shape[2]
    end = span.first_position + steps  # one past the last query's position
    first_key = end - key.shape[2]
    outputs = []
    start = span.first_position
    while start < end:
        window_start = start - start % span.window
        stop = min(end, window_start + span.window)
        q = query[:, :, start - span.first_position : stop - span.first_position]
        lo = max(window_start, first_key)  # a cache cut back shorter than the window: all it has
        k = key[:, :, lo - first_key : stop - first_key]
        v = value[:, :, lo - first_key : stop - first_key]
        if lo == start:  # the block starts the keys: plain causal
            out, _ = sdpa_attention_forward(module, q, k, v, None, is_causal=True, **kwargs)
        else:  # the queries continue keys held before them: causal, shifted
            rows = torch.arange(start, stop, device=query.device)[:, None]
            cols = torch.arange(lo, stop, device=query.device)[None, :]
            mask = (cols <= rows)[None, None]
            out, _ = sdpa_attention_forward(module, q, k, v, mask, is_causal=False, **kwargs)
        outputs.append(out)
        start = stop
    return outputs[0] if len(outputs) == 1 else torch.cat(outputs, dim=1)


_registered = False


def _register() -> None:
    global _registered
    if not _registered:
        AttentionInterface.register("sdpa", _window_attention)
        AttentionMaskInterface.register("sdpa", _window_mask)
        _registered = True


def apply(model: Any) -> bool:
    """Let `model`'s chunked-attention layers attend window by window in prefill steps.

    Returns False (and says why in the log) where the model keeps transformers' masked
    path: MAVERICK_DESK_WINDOW_ATTENTION=off, no chunked layers, another attention
    implementation, or a self-check that did not match.
    """
    config = model.config.get_text_config()
    setattr(config, FLAG, False)
    if not window_attention_on():
        log.info("window attention left off: %s=off", WINDOW_ATTENTION_ENV)
        return False
    if getattr(config, "attention_chunk_size", None) is None or "chunked_attention" not in (
        getattr(config, "layer_types", None) or []
    ):
        return False
    if sdpa_mask is None:
        log.info("window attention left off: this transformers has no masking_utils.sdpa_mask")
        return False
    if str(getattr(config, "_attn_implementation", "")) != "sdpa":
        log.info(
            "window attention left off: attention is %s, not sdpa", config._attn_implementation
        )
        return False
    difference = self_check(model)
    if difference > CHECK_TOLERANCE:
        log.warning(
            "window attention left off: it differs from the masked path by %.4f on a small input",
            difference,
        )
        return False
    _register()
    setattr(config, FLAG, True)
    return True


def applied(model: Any) -> bool:
    """Whether `apply` let `model`'s chunked layers attend window by window."""
    return bool(getattr(model.config.get_text_config(), FLAG, False))


def label(model: Any) -> str:
    """What Help → About and gpu-check say runs."""
    return ON_LABEL if applied(model) else OFF_LABEL


def self_check(model: Any) -> float:
    """The largest difference, window blocks against sdpa over a masked square, on a small input.

    Random queries, keys and values shaped as the model's first chunked layer takes them,
    on its device and dtype: 2½ windows of a small window size, the queries starting
    mid-window after keys already held (both kinds of block).
    """
    config = model.config.get_text_config()
    index = list(config.layer_types).index("chunked_attention")
    module = _attention_module(model, index)
    param = next(module.parameters())
    window = 16
    held, steps = 24, 40  # keys held before the step; the step's queries
    heads, kv_heads = config.num_attention_heads, config.num_key_value_heads
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // heads
    gen = torch.Generator(device="cpu").manual_seed(0)

    def rand(h: int, n: int) -> torch.Tensor:
        return torch.randn(1, h, n, head_dim, generator=gen).to(param.device, param.dtype)

    query, key, value = (
        rand(heads, steps),
        rand(kv_heads, held + steps),
        rand(kv_heads, held + steps),
    )
    rows = torch.arange(held, held + steps)[:, None]
    cols = torch.arange(held + steps)[None, :]
    masked = ((cols <= rows) & (cols // window == rows // window))[None, None].to(param.device)
    scaling = float(getattr(module, "scaling", head_dim**-0.5))
    with torch.inference_mode():
        want, _ = sdpa_attention_forward(module, query, key, value, masked, scaling=scaling)
        got = window_blocks(
            module, query, key, value, WindowSpan(held, window, held + steps), scaling=scaling
        )
    return float((want.float() - got.float()).abs().max())


def _attention_module(model: Any, index: int) -> torch.nn.Module:
    for module in model.modules():  # the language model's (the vision encoder's have no rope flag)
        if getattr(module, "layer_idx", None) == index and hasattr(module, "use_rope"):
            return module  # type: ignore[no-any-return]
    raise LookupError(f"no attention module for layer {index}")
