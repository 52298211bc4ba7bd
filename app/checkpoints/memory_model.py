"""What the engine's KV cache and prompt pass allocate: the formulas both obey.

Torch-free, so that `app.checkpoints.preflight` can size a machine before anything is
loaded, and the engine (`app.inference.prefill`, `app.inference.prompt_cache`) bounds
its cache with the same numbers. `tests/inference/test_memory_model.py` holds them
within 10 % of what the demo's cache and prefill allocate.

**KV cache.** A full-attention (NoPE) layer keeps every position. A chunked-attention
layer needs only its window for attention, but the caches are made with past
recording on so that a kept cache can be cut back (`app.inference.prompt_cache`);
the engine cuts that history to `chunked_keep` positions after every prefill chunk
and every `chunk` generated tokens, so a chunked layer never holds more than
`chunked_keep + chunk` positions, whatever the length of the request.

**Prompt pass.** The prompt is prefilled in chunks of `chunk` tokens
(`app.inference.prefill`). The largest transient is the last chunk's, whose keys
reach back over the whole prompt. With sdpa, transformers builds a boolean mask per
layer kind (`q x kv` bytes; none for the full layers in the first chunk, which is
causal), torch turns the mask it is given into an additive one in the model's dtype
(2 bytes a pair), and because a mask is given, the key and value heads are repeated
to the query heads (`repeat_kv`: 2 x kv x heads x head_dim x 2 bytes). On top come
the chunk's per-token activations: about 12 hidden-sized bf16 vectors in an attention
block (residual, norm, q/k/v, rotary copies, output), or the MLP's (see
`app.checkpoints.preflight`). flex_attention takes no dense mask and runs grouped
heads natively, so only the per-token part remains.
"""

from __future__ import annotations

from dataclasses import dataclass

# Larger chunks use a GPU better; smaller ones leave less of a follow-up to prefill.
PREFILL_CHUNK_TOKENS = 512
# How many positions before the end a chunked-attention layer keeps beyond its window:
# the answer can then be regenerated, and a question a few thousand tokens back edited,
# without a full prefill.
DEFAULT_HISTORY_TOKENS = 8192
BF16 = 2
# bf16 vectors of the hidden size an attention block holds per token (measured on the demo).
ATTENTION_VECTORS = 12


STATIC_MIN_POSITIONS = 1024  # the compiled decode step's smallest static cache


def cache_capacity(positions: int, limit: int = 0) -> int:
    """The compiled decode step's static cache size for `positions`.

    A power of two, at least `STATIC_MIN_POSITIONS`; no more than `limit` when that covers
    `positions`.
    """
    capacity = STATIC_MIN_POSITIONS
    while capacity < positions:
        capacity *= 2
    return min(capacity, limit) if limit >= positions else capacity


def chunked_keep(window: int, history_tokens: int) -> int:
    """Positions a chunked-attention layer keeps between chunks: its window and the history."""
    return window - 1 + history_tokens


def chunked_slots(tokens: int, window: int, history_tokens: int, chunk: int) -> int:
    """The most positions a chunked-attention layer holds during a request of `tokens`."""
    return min(tokens, chunked_keep(window, history_tokens) + chunk)


@dataclass(frozen=True)
class AttentionShape:
    """The sizes the prompt pass's transient depends on."""

    hidden: int
    heads: int
    kv_heads: int
    head_dim: int
    window: int  # attention_chunk_size; 0 if every layer is full attention
    mlp_bytes_per_token: int  # the MLP (or MoE) block's transient per prompt token
    # Chunked layers attend window by window in a prefill (`app.inference.window_attention`):
    # no mask over every key held, only a small one where a step continues a window.
    windowed: bool = False

    def prompt_pass_bytes(self, tokens: int, attn: str, chunk: int = PREFILL_CHUNK_TOKENS) -> int:
        """The largest transient of prefilling `tokens` in chunks: the last chunk's."""
        if tokens <= 0:
            return 0
        q = min(tokens, chunk)  # the last chunk is at most a chunk, and sees every key
        per_token = max(self.mlp_bytes_per_token, ATTENTION_VECTORS * self.hidden * BF16)
        if attn == "flex_attention":
            return q * per_token
        past = tokens - q
        full_kv = tokens if past > 0 else 0  # the first chunk's full layers are causal: no mask
        chunked_q, chunked_kv = q, 0  # the chunked layers' masked queries and keys
        if self.window and self.windowed:
            # Only a block that continues a window the cache began has a mask: its
            # queries, on the keys from the window's start.
            offset = past % self.window
            chunked_q = min(q, self.window - offset) if offset else 0
            chunked_kv = offset + chunked_q
        elif self.window:
            chunked_kv = self.window - 1 + q if past >= self.window else tokens
        pairs = max(q * full_kv, chunked_q * chunked_kv)  # the largest mask of one layer
        masks = q * full_kv + chunked_q * chunked_kv  # booleans, alive through the whole forward
        kv = max(full_kv, chunked_kv)
        additive = BF16 * pairs  # torch's additive copy of the mask, one layer at a time
        repeated = 2 * kv * self.heads * self.head_dim * BF16 if self.kv_heads < self.heads else 0
        attention = ATTENTION_VECTORS * self.hidden * BF16 * q + additive + repeated
        if attn == "eager":  # scores and probabilities of one layer, in bf16
            attention += 2 * self.heads * q * kv * BF16
        return masks + max(attention, q * self.mlp_bytes_per_token)
