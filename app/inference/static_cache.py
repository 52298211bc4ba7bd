"""A static KV cache for Llama 4's decode step, with nothing a compiled graph must guard on.

transformers' `StaticCache` keeps a chunked-attention layer as a rolling window whose
length is a Python int (`StaticSlidingWindowLayer.cumulative_length_int`): a compiled
step guards on that int and recompiles as it changes, and transformers itself turns
compilation off for Llama 4 (`PreTrainedModel.get_compiled_call`). Here every piece of
per-step state is a tensor:

- a full-attention layer (Maverick's NoPE layers) is transformers' `StaticLayer`: one
  buffer of `max_cache_len` positions, written at the position the step decodes
  (`FullStaticLayer`: without its guard on the buffers' identity);
- a chunked-attention layer holds one chunk (`attention_chunk_size` positions; 8,192 on
  Maverick) and keeps position p in slot ``p % chunk``. A query at p attends to the
  positions of its own chunk up to p, which are exactly slots ``0 .. p % chunk``: the
  slots after it hold the previous chunk and are masked (`decode_masks`).

The cache is filled from the `DynamicCache` the prefill wrote (`StaticDecodeCache.fill`),
which stays the prompt cache's (`app.inference.prompt_cache`): the static cache serves
one request's decode and is then dropped.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers.cache_utils import Cache, CacheLayerMixin, StaticLayer


class FullStaticLayer(StaticLayer):
    """transformers' `StaticLayer`, with buffers a compiled step does not guard by identity.

    `StaticLayer.lazy_initialization` marks its buffers as static addresses *with* a guard
    on the tensors' identity: every new cache (another size, or one allocated again after
    the memory was freed) would recompile the step, and past dynamo's recompile limit
    fail. Here only CUDA buffers are marked (CUDA graphs replay from fixed addresses, and
    re-record if they move), without that guard.
    """

    def lazy_initialization(self, key_states: torch.Tensor, value_states: torch.Tensor) -> None:
        """Allocate the buffers at the size of the cache, on the device of `key_states`."""
        self.dtype, self.device = key_states.dtype, key_states.device
        self.batch_size, self.num_heads = key_states.shape[:2]
        self.k_head_dim = key_states.shape[-1]
        self.v_head_dim = value_states.shape[-1]
        shape = (self.batch_size, self.num_heads, self.max_cache_len)
        self.keys = torch.zeros((*shape, self.k_head_dim), dtype=self.dtype, device=self.device)
        self.values = torch.zeros((*shape, self.v_head_dim), dtype=self.dtype, device=self.device)
        self.cumulative_length = self.cumulative_length.to(self.device)
        if self.device.type == "cuda":
            for tensor in (self.keys, self.values, self.cumulative_length):
                torch._dynamo.mark_static_address(tensor, guard=False)
        self.is_initialized = True


class ChunkedStaticLayer(FullStaticLayer):
    """One attention chunk of keys and values; position p lives in slot ``p % chunk``."""

    def __init__(self, chunk: int) -> None:
        super().__init__(max_cache_len=chunk)
        self.chunk = chunk

    def update(
        self, key_states: torch.Tensor, value_states: torch.Tensor, *args: Any, **kwargs: Any
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Write one decoded position into its slot; return the whole chunk buffer."""
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        keys: Any = self.keys
        values: Any = self.values
        slot = torch.remainder(self.cumulative_length, self.chunk).reshape(1)
        keys.index_copy_(2, slot, key_states)
        values.index_copy_(2, slot, value_states)
        self.cumulative_length.add_(key_states.shape[-2])
        return keys, values


class StaticDecodeCache(Cache):
    """Static buffers for every layer of a Llama 4 text model, one sequence."""

    def __init__(self, text_config: Any, max_cache_len: int) -> None:
        self.chunk = int(text_config.attention_chunk_size)
        self.max_cache_len = max_cache_len
        self.layer_types: list[str] = list(text_config.layer_types)
        layers: list[CacheLayerMixin] = []
        for kind in self.layer_types:
            if kind == "chunked_attention":
                layers.append(ChunkedStaticLayer(self.chunk))
            elif kind == "full_attention":
                layers.append(FullStaticLayer(max_cache_len=max_cache_len))
            else:
                raise ValueError(f"the static decode cache has no layer of kind {kind!r}")
        super().__init__(layers=layers)  # type: ignore[arg-type]
        self._chunked = [layer for layer in layers if isinstance(layer, ChunkedStaticLayer)]

    def fill(self, dynamic: Any, length: int) -> None:
        """Copy what the prefill's `DynamicCache` holds for positions ``0 .. length-1``.

        A chunked layer needs only the positions of the chunk that `length` falls in. The
        buffers are written in place; what they held after those positions is masked.
        """
        if length >= self.max_cache_len:
            raise ValueError(
                f"the static cache holds {self.max_cache_len} positions, not {length + 1}"
            )
        start = length // self.chunk * self.chunk
        layer: Any
        source: Any
        for layer, source in zip(self.layers, dynamic.layers, strict=True):
            keys, values = source.keys, source.values
            if layer in self._chunked:
                first_held = int(source.cumulative_length) - int(keys.shape[-2])
                if int(source.cumulative_length) != length or first_held > start:
                    raise ValueError("the prefill's cache does not hold the current chunk")
                keys = keys[..., start - first_held :, :]
                values = values[..., start - first_held :, :]
                _initialise(layer, keys, values)
                layer.keys[..., : length - start, :] = keys
                layer.values[..., : length - start, :] = values
            else:
                if int(keys.shape[-2]) != length:
                    raise ValueError("the prefill's cache does not cover the prompt")
                _initialise(layer, keys, values)
                layer.keys[..., :length, :] = keys
                layer.values[..., :length, :] = values
            layer.cumulative_length.fill_(length)

    def nbytes(self) -> int:
        """Bytes of the key and value buffers."""
        total = 0
        for layer in self.layers:
            for tensor in (layer.keys, layer.values):  # type: ignore[union-attr]
                if tensor is not None:
                    total += tensor.numel() * tensor.element_size()
        return total


def _initialise(layer: Any, keys: torch.Tensor, values: torch.Tensor) -> None:
    """Allocate a layer's buffers once: a compiled step is built for their addresses."""
    if not layer.is_initialized:
        layer.lazy_initialization(keys, values)


def decode_masks(position: torch.Tensor, max_cache_len: int, chunk: int) -> dict[str, torch.Tensor]:
    """The boolean attention masks (True: attend) of one decoded token at `position`.

    `position` is a 0-d long tensor, so a compiled step never guards on its value.
    """
    device = position.device
    full = torch.arange(max_cache_len, device=device) <= position
    chunked = torch.arange(chunk, device=device) <= torch.remainder(position, chunk)
    return {
        "full_attention": full.view(1, 1, 1, max_cache_len),
        "chunked_attention": chunked.view(1, 1, 1, chunk),
    }
