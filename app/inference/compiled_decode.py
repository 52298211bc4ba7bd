"""One decoded token's forward, compiled once with `torch.compile(fullgraph=True)`.

`generate` runs each decoded token through the model eagerly: thousands of small
kernel launches a token, each issued by Python, over a `DynamicCache` that grows by
`torch.cat`. Here the prompt's last chunk is prefilled eagerly (into the prompt
cache's `DynamicCache`, which stays reusable as before), its keys and values are
copied into a `StaticDecodeCache`, and every further token runs through one compiled
graph (`DecodeStep`): inductor's C++ kernels on the CPU, CUDA graphs on a GPU
(``mode="reduce-overhead"``). Nothing in the step guards on the position, so it
compiles once per cache size (sizes are powers of two: `cache_capacity`), and after a
second size dynamo makes the size dynamic: no more compiles.

Compiling changes the order of floating-point operations, so at load the step must
give the same greedy tokens as `generate` on a short prompt (`self_check`); if it does
not, or compiling fails, the worker keeps `generate` and says why
(`prepare_decode`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import torch
from transformers import (
    LogitsProcessorList,
    MinPLogitsWarper,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
)

from app.checkpoints.compile_mode import COMPILE_ENV, EAGER_LABEL, compile_mode
from app.checkpoints.memory_model import cache_capacity
from app.inference.prompt_cache import new_cache
from app.inference.real_rope import install_real_rope
from app.inference.static_cache import StaticDecodeCache, decode_masks

log = logging.getLogger(__name__)

CHECK_PROMPT_TOKENS = 8
CHECK_NEW_TOKENS = 6


@dataclass
class Sampler:
    """Chooses each next token from the step's logits, as `generate` would."""

    temperature: float = 0.0  # 0: greedy
    top_p: float = 1.0
    min_p: float = 0.0
    top_k: int = 0  # 0: off
    processors: list[Any] = field(default_factory=list)  # e.g. the JSON constraint's

    def __post_init__(self) -> None:
        # `generate`'s order: the processors it is given, then the warpers.
        chain: list[Any] = list(self.processors)
        if self.temperature > 0:
            chain.append(TemperatureLogitsWarper(self.temperature))
            if self.top_k > 0:
                chain.append(TopKLogitsWarper(self.top_k))
            if self.top_p < 1.0:
                chain.append(TopPLogitsWarper(self.top_p))
            if self.min_p > 0:
                chain.append(MinPLogitsWarper(self.min_p))
        self._chain = LogitsProcessorList(chain)
        # Only a given processor (the JSON grammar) reads the ids so far; the warpers do not.
        self.needs_ids = bool(self.processors)

    def choose(self, ids: torch.Tensor, logits: torch.Tensor) -> int:
        """The next token after `ids` (1 × n) given `logits` (1 × vocab)."""
        scores = self._chain(cast(torch.LongTensor, ids), logits.float()) if self._chain else logits
        if self.temperature > 0:
            probs = torch.softmax(scores, dim=-1)
            return int(torch.multinomial(probs, num_samples=1)[0, 0])
        return int(scores[0].argmax())


def compile_options(device_type: str) -> dict[str, Any]:
    """The inductor options for a decode step (or one layer of it) on `device_type`.

    Rounding to bf16 where eager rounds keeps the greedy tokens eager's (without it
    inductor keeps float32 between fused ops, and the demo's answers drift after a few
    tokens); on CUDA the whole step replays as CUDA graphs.
    """
    options: dict[str, Any] = {"emulate_precision_casts": True}
    if device_type == "cuda":
        options["triton.cudagraphs"] = True
    return options


class DecodeStep:
    """The forward of one decoded token over a static cache, compiled or eager."""

    def __init__(self, model: Any, compiled: bool) -> None:
        self._model = model
        self._text_config = model.config.text_config
        self._limit = int(getattr(self._text_config, "max_position_embeddings", 0) or 0)
        self.compiled = compiled
        self._cache: StaticDecodeCache | None = None
        fn: Callable[..., torch.Tensor] = self._step
        if compiled:
            install_real_rope(model)
            fn = torch.compile(fn, fullgraph=True, options=compile_options(model.device.type))
        self._fn = fn

    def _step(self, token: torch.Tensor, position: torch.Tensor, cache: Any) -> torch.Tensor:
        masks = decode_masks(position, cache.max_cache_len, cache.chunk)
        out = self._model.language_model(
            input_ids=token,
            attention_mask=masks,
            position_ids=position.view(1, 1),
            past_key_values=cache,
            use_cache=True,
            logits_to_keep=1,
        )
        logits: torch.Tensor = out.logits[:, -1, :]
        return logits

    def cache_for(self, positions: int) -> StaticDecodeCache:
        """A static cache for `positions`, the last one again when it is big enough.

        Reusing it keeps the buffers' addresses, which the compiled graph is built for.
        """
        capacity = cache_capacity(positions, self._limit)
        if self._cache is None or self._cache.max_cache_len != capacity:
            self._cache = None  # give the old buffers back before taking new ones
            self._cache = StaticDecodeCache(self._text_config, capacity)
        return self._cache

    def release(self) -> int:
        """Drop the static cache (the prompt cache is freed, or memory is short); its bytes."""
        freed = self._cache.nbytes() if self._cache is not None else 0
        self._cache = None
        return freed

    def decode(
        self,
        dynamic: Any,
        ids: torch.Tensor,
        logits: torch.Tensor,
        max_new_tokens: int,
        sampler: Sampler,
        on_token: Callable[[int], None],
        stop: Callable[[int], bool],
    ) -> list[int]:
        """Decode after a prompt `ids` (1 × n) whose cache is `dynamic` and last `logits`.

        `stop(token)` is asked after each token; True ends the answer there.
        """
        length = int(ids.shape[1])
        cache = self.cache_for(length + max_new_tokens)
        cache.fill(dynamic, length)
        device = ids.device
        produced: list[int] = []
        seen = ids
        while True:
            token = sampler.choose(seen, logits)
            produced.append(token)
            on_token(token)
            if len(produced) >= max_new_tokens or stop(token):
                return produced
            step_ids = torch.tensor([[token]], dtype=torch.long, device=device)
            if sampler.needs_ids:
                seen = torch.cat([seen, step_ids], dim=1)
            position = torch.tensor(length + len(produced) - 1, dtype=torch.long, device=device)
            logits = self._fn(step_ids, position, cache)


def prefill_logits(model: Any, ids: torch.Tensor, cache: Any, start: int, **extra: Any) -> Any:
    """Prefill `ids[:, start:]` into `cache` eagerly; the logits of the last position."""
    out = model(
        input_ids=ids[:, start:],
        attention_mask=torch.ones((1, ids.shape[1]), dtype=torch.long, device=ids.device),
        past_key_values=cache,
        use_cache=True,
        logits_to_keep=1,
        **extra,
    )
    return out.logits[:, -1, :]


def check_prompt(model: Any) -> torch.Tensor:
    """A short, fixed prompt of ordinary token ids for the self-check."""
    vocab = int(model.config.text_config.vocab_size)
    spread = torch.arange(CHECK_PROMPT_TOKENS, dtype=torch.long) * 7919 + 1000
    return (spread % (vocab // 2) + 10).view(1, -1).to(model.device)


def self_check(model: Any, step: DecodeStep) -> str | None:
    """None if `step` decodes the same greedy tokens as `generate`, else what differed."""
    ids = check_prompt(model)
    with torch.inference_mode():
        expected = model.generate(
            input_ids=ids,
            attention_mask=torch.ones_like(ids),
            past_key_values=new_cache(model.config),
            max_new_tokens=CHECK_NEW_TOKENS,
            min_new_tokens=CHECK_NEW_TOKENS,
            do_sample=False,
            temperature=None,
            top_p=None,
            top_k=None,
        )[0, ids.shape[1] :].tolist()
        dynamic = new_cache(model.config)
        logits = prefill_logits(model, ids, dynamic, 0)
        got = step.decode(
            dynamic, ids, logits, CHECK_NEW_TOKENS, Sampler(), lambda _t: None, lambda _t: False
        )
    if got != expected:
        return f"greedy tokens {got} where generate gives {expected}"
    return None


@dataclass
class DecodePlan:
    """What the worker decodes with, and the sentence the About box shows."""

    step: DecodeStep | None
    label: str
    warnings: list[str] = field(default_factory=list)


def _unsupported(model: Any) -> str | None:
    attention = str(model.config._attn_implementation)
    if attention != "sdpa":
        return f"the compiled step builds sdpa masks, and the model runs {attention} attention"
    kinds = set(getattr(model.config.text_config, "layer_types", None) or ["?"])
    if not kinds <= {"full_attention", "chunked_attention"}:
        return f"the static cache has no layer of kind {sorted(kinds)}"
    return None


def prepare_decode(model: Any, environ: Any = None) -> DecodePlan:
    """Compile and self-check the decode step unless ``MAVERICK_DESK_COMPILE=off``."""
    mode = compile_mode(environ)
    if mode == "off":
        log.info("decode: %s (%s=off)", EAGER_LABEL, COMPILE_ENV)
        return DecodePlan(None, f"{EAGER_LABEL}, {COMPILE_ENV}=off")
    reason = _unsupported(model)
    if reason is None:
        try:
            step = DecodeStep(model, compiled=True)
            reason = self_check(model, step)
        except Exception as exc:  # any compiler failure means: run eagerly, and say why
            log.exception("decode: compiling the decode step failed")
            reason = f"compiling failed: {type(exc).__name__}: {exc}"
    if reason is not None:
        message = f"The decode step runs uncompiled ({EAGER_LABEL}): {reason}."
        log.warning(message)
        return DecodePlan(None, f"{EAGER_LABEL}; the compiled step failed: {reason}", [message])
    where = "CUDA graphs" if model.device.type == "cuda" else "inductor, CPU"
    label = f"compiled decode step (torch.compile fullgraph, {where}), static KV cache"
    log.info("decode: %s; passed its self-check", label)
    return DecodePlan(step, label)
