"""Keeping the KV cache of recent requests, so that a follow-up prefills only what is new.

A `CachedPrompt` is a transformers `DynamicCache` together with the token ids it
covers and where each image sits in them (with a digest of the image's file, since
two images of the same size give the same token ids). `PromptCache` holds a few of
them, least recently used first out, within a byte budget.

Cutting a cache back to a shorter prefix is done here, layer by layer, rather than
with `DynamicCache.crop`: a full-attention layer keeps every position, so its
tensors are simply sliced; a chunked-attention layer (`DynamicSlidingWindowLayer`)
holds the last positions only, and can be cut back to `n` tokens exactly only if it
still holds the window before `n`. The caches are made with past recording on (the
chunked layers then keep their history instead of dropping what left the window),
and `trim` bounds that history to `history_tokens` past the window: during a request
after every prefill chunk and generated token (the engine calls it), and once more
when the request is over (`app.checkpoints.memory_model` counts what that costs). Any
other layer kind, or a layer that no longer holds what is needed, means the cache
cannot be cut back: the caller then prefills everything again.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from transformers.cache_utils import DynamicCache, DynamicLayer, DynamicSlidingWindowLayer

from app.checkpoints.memory_model import DEFAULT_HISTORY_TOKENS, PREFILL_CHUNK_TOKENS, chunked_keep

log = logging.getLogger(__name__)
# The share of free device memory the kept caches may take (when no budget is set).
FREE_MEMORY_SHARE = 0.5
# What a set budget always leaves free on the device for the next prefill (about 146 KiB a
# prompt token on Maverick: 2 GiB holds a 14,000-token prompt's activations).
PREFILL_RESERVE_BYTES = 2 << 30


@dataclass(frozen=True)
class ImageSpan:
    """Where an image's tokens lie in a prompt (start inclusive, end exclusive)."""

    start: int
    end: int
    digest: str


@dataclass
class CachedPrompt:
    """A KV cache and what it covers."""

    cache: Any
    ids: list[int]
    spans: list[ImageSpan] = field(default_factory=list)
    # image digest -> the token text the processor made for it (its tiles and patches)
    expansions: dict[str, str] = field(default_factory=dict)
    # The leading positions computed exactly as a cold prefill computes them
    # (`app.inference.prefill`): only those may be reused.
    exact: int = 0

    @property
    def nbytes(self) -> int:
        return cache_bytes(self.cache)

    def branch(self) -> CachedPrompt:
        """A copy to cut and extend while this one stays as it is.

        No tensor is copied: cutting slices views, and extending concatenates into new
        tensors, so the two never write to shared memory.
        """
        cache = copy.copy(self.cache)
        cache.layers = [copy.copy(layer) for layer in self.cache.layers]
        return CachedPrompt(
            cache, list(self.ids), list(self.spans), dict(self.expansions), self.exact
        )


def _chunked(layer: Any) -> bool:
    # A plain function rather than `isinstance` inline: mypy would narrow `layer` to the
    # class, whose tensors are typed as optional.
    return isinstance(layer, DynamicSlidingWindowLayer)


def _full(layer: Any) -> bool:
    return type(layer) is DynamicLayer


def new_cache(config: Any) -> Any:
    """An empty cache for `config` whose chunked-attention layers can be cut back."""
    cache = DynamicCache(config=config)
    cache.activate_past_recording()
    return cache


def cache_bytes(cache: Any) -> int:
    """Bytes held by the key and value tensors of a cache."""
    total = 0
    layer: Any
    for layer in cache.layers:
        for tensor in (getattr(layer, "keys", None), getattr(layer, "values", None)):
            if tensor is not None:
                total += tensor.numel() * tensor.element_size()
    return total


def cache_length(cache: Any) -> int | None:
    """The number of positions every layer covers, or None if the layers disagree."""
    lengths = set()
    layer: Any
    for layer in cache.layers:
        if not getattr(layer, "is_initialized", False):
            return None
        if _chunked(layer):
            lengths.add(layer.cumulative_length)
        elif _full(layer):
            lengths.add(int(layer.keys.shape[-2]))
        else:
            return None
    return lengths.pop() if len(lengths) == 1 else None


def can_cut(cache: Any, length: int) -> bool:
    """Whether `cut(cache, length)` would leave exactly the cache of the first `length` tokens."""
    covered = cache_length(cache)
    if covered is None or not 0 < length <= covered:
        return False
    layer: Any
    for layer in cache.layers:
        if _chunked(layer):
            held = int(layer.keys.shape[-2])
            first_held = layer.cumulative_length - held
            if max(0, length - (layer.sliding_window - 1)) < first_held:
                return False
    return True


def cut(cache: Any, length: int) -> None:
    """Cut `cache` back to its first `length` positions; check `can_cut` first."""
    layer: Any
    for layer in cache.layers:
        if _chunked(layer):
            first_held = layer.cumulative_length - int(layer.keys.shape[-2])
            layer.keys = layer.keys[..., : length - first_held, :]
            layer.values = layer.values[..., : length - first_held, :]
            layer.cumulative_length = length
        else:
            layer.keys = layer.keys[..., :length, :]
            layer.values = layer.values[..., :length, :]


def trim(cache: Any, history_tokens: int, copy: bool = True) -> None:
    """Drop what chunked-attention layers hold beyond their window plus `history_tokens`.

    With `copy`, the kept part is copied so that the rest is freed now (a cache kept
    between requests). Without it, the layers hold views, and the next step's
    `torch.cat` copies only those (during a request, between chunks and tokens).
    """
    layer: Any
    for layer in cache.layers:
        if _chunked(layer) and layer.is_initialized:
            keep = chunked_keep(layer.sliding_window, history_tokens)
            if layer.keys.shape[-2] > keep:
                keys, values = layer.keys[..., -keep:, :], layer.values[..., -keep:, :]
                layer.keys = keys.clone() if copy else keys
                layer.values = values.clone() if copy else values


def common_prefix(
    entry: CachedPrompt, ids: Sequence[int], spans: Sequence[ImageSpan], chunk: int
) -> int:
    """How many leading tokens of `ids` the entry's cache can stand for: a multiple of `chunk`.

    Equal ids are not enough where an image lies: its tokens say only its size. An
    image counts as cached only if the entry has the same file digest at the same
    span; the prefix ends before the first image that is not.
    """
    limit = min(entry.exact, len(entry.ids), len(ids) - 1)  # one token at least is prefilled
    length = 0
    while length < limit and entry.ids[length] == ids[length]:
        length += 1
    cached = {(s.start, s.end): s.digest for s in entry.spans}
    for span in spans:
        if span.start >= length:
            break
        if cached.get((span.start, span.end)) != span.digest:
            length = span.start
            break
    return length // chunk * chunk


def model_devices(model: Any) -> list[Any]:
    """Every device holding a weight of `model` (all the GPUs of a `device_map="auto"` load)."""
    return sorted({param.device for param in model.parameters()}, key=str)


def free_memory_bytes(devices: Any) -> int:
    """Free memory where the cache lives: the machine's for the CPU, else the GPUs'.

    `devices` is one device or several; the cache spreads over every GPU with the layers,
    so the free memory of all of them counts, not just that of `model.device`.
    """
    import torch

    devices = list(devices) if isinstance(devices, (list, tuple, set)) else [devices]
    gpus = {d for d in devices if getattr(d, "type", "cpu") == "cuda"}
    if gpus:
        return sum(int(torch.cuda.mem_get_info(d)[0]) for d in gpus)
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import os

    return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))


def prefill_reserve(devices: Any) -> int:
    """What a set budget leaves free for the next prefill: `PREFILL_RESERVE_BYTES` a GPU."""
    devices = list(devices) if isinstance(devices, (list, tuple, set)) else [devices]
    gpus = {d for d in devices if getattr(d, "type", "cpu") == "cuda"}
    return PREFILL_RESERVE_BYTES * max(1, len(gpus))


class PromptCache:
    """The caches of the most recent requests, least recently used evicted first.

    `take` hands an entry out for one request (it leaves the store: a request that
    fails keeps nothing); `keep` brings the request's cache back once it is over.
    """

    def __init__(
        self,
        max_entries: int = 1,
        budget_bytes: int = 0,
        free_bytes: Callable[[], int] | None = None,
        history_tokens: int = DEFAULT_HISTORY_TOKENS,
        chunk_tokens: int = PREFILL_CHUNK_TOKENS,
        reserve_bytes: int = PREFILL_RESERVE_BYTES,
    ) -> None:
        self.chunk_tokens = chunk_tokens
        self.reserve_bytes = reserve_bytes
        self.max_entries = max(0, max_entries)
        self.budget_bytes = budget_bytes  # 0: a share of the free memory
        self.history_tokens = history_tokens
        self._free_bytes = free_bytes
        self._entries: list[CachedPrompt] = []  # most recently used last

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def nbytes(self) -> int:
        return sum(entry.nbytes for entry in self._entries)

    def expansions(self) -> dict[str, str]:
        """The token text of every image some kept entry covers, by digest."""
        known: dict[str, str] = {}
        for entry in self._entries:
            known.update(entry.expansions)
        return known

    def take(
        self, ids: Sequence[int], spans: Sequence[ImageSpan]
    ) -> tuple[CachedPrompt, int] | None:
        """The entry sharing the longest prefix with `ids`, cut back to it, out of the store."""
        best: tuple[CachedPrompt, int] | None = None
        for entry in self._entries:
            length = common_prefix(entry, ids, spans, self.chunk_tokens)
            if length > 0 and (best is None or length > best[1]):
                best = (entry, length)
        if best is None:
            return None
        entry, length = best
        if length * 2 >= len(entry.ids):
            # Mostly the same conversation (a follow-up, Regenerate, an Edit): this
            # request's cache replaces it.
            self._entries.remove(entry)
        else:
            # Another conversation with the same start (system prompt, first words):
            # it keeps its own cache.
            entry = entry.branch()
        if not can_cut(entry.cache, length):
            log.info(
                "prompt cache: cannot cut the cache of %d tokens back to %d exactly; "
                "prefilling all %d prompt tokens",
                len(entry.ids),
                length,
                len(ids),
            )
            return None
        cut(entry.cache, length)
        del entry.ids[length:]
        entry.exact = length
        return entry, length

    def keep_after(self, entry: CachedPrompt, ids: Sequence[int], exact: int) -> None:
        """Keep a request's cache, given the ids it was fed and how many are exact."""
        covered = cache_length(entry.cache)
        if covered is None or covered > len(ids):
            log.warning("prompt cache: a cache whose layers disagree was dropped")
            return
        entry.ids = [int(i) for i in ids[:covered]]
        entry.spans = [span for span in entry.spans if span.start < covered]
        entry.exact = min(exact, covered)
        self.keep(entry)

    def keep(self, entry: CachedPrompt) -> None:
        """Bring a finished request's cache back, evicting old ones to stay in budget."""
        if self.max_entries == 0:
            return
        trim(entry.cache, self.history_tokens)
        self._entries.append(entry)
        while len(self._entries) > self.max_entries:
            self._entries.pop(0)
        budget = self._budget()
        while self._entries and self.nbytes > budget:
            dropped = self._entries.pop(0)
            log.info(
                "prompt cache: dropped a cache of %d tokens (%d bytes) to stay within %d bytes",
                len(dropped.ids),
                dropped.nbytes,
                budget,
            )

    def clear(self) -> int:
        """Forget every cache; returns the bytes they held."""
        freed = self.nbytes
        self._entries.clear()
        return freed

    def _budget(self) -> int:
        """The bytes the kept caches may hold now.

        Without a set budget, a share of the free device memory. A set budget is checked
        against the free memory too: the caches never take the last
        `reserve_bytes` the devices have free (the next prefill needs them).
        """
        if self._free_bytes is None:
            return self.budget_bytes if self.budget_bytes > 0 else 1 << 62
        # The kept caches are already allocated: they count as free for this purpose.
        available = self._free_bytes() + self.nbytes
        if self.budget_bytes <= 0:
            return int(available * FREE_MEMORY_SHARE)
        room = max(0, available - self.reserve_bytes)
        if self.budget_bytes > room:
            log.info(
                "prompt cache: the budget of %d bytes would leave less than %d bytes free on "
                "the device; the caches are kept within %d bytes",
                self.budget_bytes,
                self.reserve_bytes,
                room,
            )
            return room
        return self.budget_bytes
