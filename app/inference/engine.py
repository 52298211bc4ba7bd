"""Turning chat messages into model inputs, and generating a streamed answer.

`Engine.generate` runs `model.generate` in the calling thread and hands the ids of
every new token to a callback as it is produced. Running it synchronously (rather
than in a helper thread feeding a `TextIteratorStreamer`) means an exception
inside generation reaches the caller directly and nothing can wait forever.

Turning ids into text is the caller's business, through an `IncrementalDecoder`
(`Engine.decoder()`): the worker does it on its writer thread, so the generation
thread does nothing per token but hand the ids over.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from transformers import RepetitionPenaltyLogitsProcessor, StoppingCriteria, StoppingCriteriaList
from transformers.generation.streamers import BaseStreamer

from app.inference.compiled_decode import DecodeStep, Sampler, prefill_logits
from app.inference.images import DEFAULT_IMAGE_LIMIT, ImageError, check_image_count
from app.inference.loader import LoadedModel
from app.inference.prefill import (
    StepPlanner,
    encoder_outputs,
    exact_length,
    image_rows,
    last_chunk_start,
    prefill_chunks,
)
from app.inference.prompt_cache import (
    CachedPrompt,
    PromptCache,
    free_memory_bytes,
    model_devices,
    new_cache,
    prefill_reserve,
    trim,
)
from app.inference.prompt_inputs import PromptBuilder, file_digest
from app.inference.template_chat import template_chat
from app.vocabulary.sampling import Sampling

log = logging.getLogger(__name__)

TokenCallback = Callable[[list[int]], None]


class InputError(ValueError):
    """A request the model cannot take as it is (too many images, too long, ...)."""


@dataclass(frozen=True)
class ChatMessage:
    """One turn of a conversation: its role, its text and the image files it carries."""

    role: str
    text: str
    images: tuple[str, ...] = ()
    # On an assistant turn: the calls it made, each {"name": str, "arguments": dict}.
    tool_calls: tuple[dict[str, Any], ...] = ()


@dataclass
class PreparedInputs:
    """Tensors for `generate`, with the token counts the status bar shows."""

    tensors: dict[str, Any]
    prompt_tokens: int
    image_tokens: int
    image_count: int
    tool_tokens: int = 0  # what the tool definitions add to the prompt
    ids: list[int] = field(default_factory=list)
    # The KV cache the generation runs with: a kept one cut back to `cached_tokens`, or empty.
    cache: CachedPrompt | None = None
    cached_tokens: int = 0
    # The images with tokens after the cached prefix, for the vision tower one by one,
    # and how many feature rows of the first lie inside the prefix (an image it cuts).
    pixels: list[torch.Tensor] = field(default_factory=list)
    skip_rows: int = 0


@dataclass
class GenerationResult:
    """How a generation ended and how fast it was."""

    prompt_tokens: int
    image_tokens: int
    generated_tokens: int
    time_to_first_token_s: float
    tokens_per_s: float
    finish_reason: str  # "stop", "length" or "cancelled"
    token_ids: list[int] = field(default_factory=list)
    tool_tokens: int = 0
    cached_prompt_tokens: int = 0  # prompt tokens whose KV came from a kept cache


class IncrementalDecoder:
    """Turns a growing list of token ids into text deltas.

    Text is released only once it is complete: a token that ends inside a
    multi-byte character (emoji, Thai, Hindi) waits for the next one, so the UI
    never shows a replacement character.
    """

    def __init__(self, tokenizer: Any) -> None:
        self._tokenizer = tokenizer
        self.ids: list[int] = []
        self._prefix_offset = 0
        self._read_offset = 0

    def _decode(self, ids: list[int]) -> str:
        return str(self._tokenizer.decode(ids, skip_special_tokens=True))

    def push(self, new_ids: Sequence[int]) -> str:
        self.ids.extend(int(i) for i in new_ids)
        prefix = self._decode(self.ids[self._prefix_offset : self._read_offset])
        full = self._decode(self.ids[self._prefix_offset :])
        if len(full) > len(prefix) and not full.endswith("\ufffd"):
            self._prefix_offset = self._read_offset
            self._read_offset = len(self.ids)
            return full[len(prefix) :]
        return ""

    def flush(self) -> str:
        prefix = self._decode(self.ids[self._prefix_offset : self._read_offset])
        full = self._decode(self.ids[self._prefix_offset :])
        self._prefix_offset = self._read_offset = len(self.ids)
        return full[len(prefix) :] if len(full) > len(prefix) else ""


class _CallbackStreamer(BaseStreamer):
    """Hands each generated token to the engine; the first `put` is the prompt."""

    def __init__(self, on_tokens: Callable[[list[int]], None]) -> None:
        self._on_tokens = on_tokens
        self._seen_prompt = False

    def put(self, value: torch.Tensor) -> None:
        if not self._seen_prompt:
            self._seen_prompt = True
            return
        self._on_tokens([int(t) for t in value.reshape(-1).tolist()])

    def end(self) -> None:
        pass


class _StopWhen(StoppingCriteria):
    def __init__(self, should_stop: Callable[[], bool]) -> None:
        self._should_stop = should_stop

    def __call__(self, input_ids: torch.LongTensor, scores: Any, **kwargs: Any) -> torch.BoolTensor:
        stop = self._should_stop()
        return torch.full((input_ids.shape[0],), stop, dtype=torch.bool, device=input_ids.device)  # type: ignore[return-value]


class _BoundHistory(StoppingCriteria):
    """Never stops; after each generated token, bounds the chunked layers' history."""

    def __init__(self, bound: Callable[[], None]) -> None:
        self._bound = bound

    def __call__(self, input_ids: torch.LongTensor, scores: Any, **kwargs: Any) -> torch.BoolTensor:
        self._bound()
        return torch.zeros((input_ids.shape[0],), dtype=torch.bool, device=input_ids.device)  # type: ignore[return-value]


def _penalty(kwargs: dict[str, Any]) -> list[Any]:
    """The compiled step's repetition penalty, as `generate` makes it from its kwargs."""
    penalty = kwargs.get("repetition_penalty")
    return [RepetitionPenaltyLogitsProcessor(float(penalty))] if penalty else []


def _default_top_k(model: Any) -> int | None:
    """The top-k `generate` samples with when a request sets none (transformers' default: 50)."""
    from transformers import GenerationConfig

    top_k = model.generation_config.top_k
    if top_k is None:
        top_k = GenerationConfig._get_default_generation_params().get("top_k")
    return None if top_k is None else int(top_k)


class Engine:
    """Generation over one loaded model."""

    def __init__(
        self,
        loaded: LoadedModel,
        image_limit: int = DEFAULT_IMAGE_LIMIT,
        prompt_cache: PromptCache | None = None,
        prefill_step: int | None = None,
    ) -> None:
        self.loaded = loaded
        self.image_limit = image_limit
        if prompt_cache is None:
            devices = model_devices(loaded.model)
            prompt_cache = PromptCache(
                free_bytes=lambda: free_memory_bytes(devices),
                reserve_bytes=prefill_reserve(devices),
            )
        self.prompt_cache = prompt_cache
        # Prompt tokens a prefill forward computes: `prefill_step`, else the setting, else
        # as many as free memory allows (`app.inference.prefill.StepPlanner`).
        self.prefill_steps = StepPlanner.for_model(loaded, prefill_step)
        processor: Any = loaded.processor
        self._processor = processor
        self._prompt = PromptBuilder(processor)
        self._tokenizer = processor.tokenizer
        self._patch_id = int(loaded.model.config.image_token_index)
        eos = loaded.model.generation_config.eos_token_id
        self._eos_ids = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
        self._constraints: Any = None  # app.inference.constrained.JsonConstraints, when first used
        # The compiled decode step when it passed its self-check at load; else `generate`.
        self._decode_step: DecodeStep | None = loaded.decode_step

    @property
    def context_length(self) -> int:
        return self.loaded.info.context_length

    def render_prompt(
        self, messages: Sequence[ChatMessage], tools: Sequence[dict[str, Any]] = ()
    ) -> str:
        """The prompt text the chat template makes of `messages` (and the tool definitions)."""
        try:
            chat = template_chat(messages, with_tools=bool(tools))
        except ValueError as exc:
            raise InputError(str(exc)) from exc
        extra: dict[str, Any] = {"tools": list(tools)} if tools else {}
        return str(
            self._processor.apply_chat_template(
                chat, add_generation_prompt=True, tokenize=False, **extra
            )
        )

    def prepare(
        self,
        messages: Sequence[ChatMessage],
        max_new_tokens: int = 0,
        tools: Sequence[dict[str, Any]] = (),
        use_cache: bool = True,
    ) -> PreparedInputs:
        """Apply the chat template and the image processor; raise `InputError`/`ImageError`.

        With `use_cache`, the longest prefix a kept KV cache covers is taken from it
        (`PreparedInputs.cache` holds it, `cached_tokens` says how long it is), and the
        images inside that prefix are neither decoded nor processed again.
        """
        if not messages or messages[-1].role not in {"user", "tool", "ipython"}:
            raise InputError("A request must end with a user message or a tool's result.")
        image_paths = [path for message in messages for path in message.images]
        check_image_count(len(image_paths), self.image_limit)
        text = self.render_prompt(messages, tools)
        digests = [file_digest(path) for path in image_paths]
        known = self.prompt_cache.expansions() if use_cache else {}
        processed = {
            index: self._prompt.process(path)
            for index, (path, digest) in enumerate(zip(image_paths, digests, strict=True))
            if digest not in known
        }
        expansions = [
            processed[index].expansion if index in processed else known[digest]
            for index, digest in enumerate(digests)
        ]
        try:
            ids = self._prompt.ids(text, expansions)
            spans = self._prompt.spans(ids, digests)
        except ValueError as exc:
            raise InputError(str(exc)) from exc
        prompt_tokens = len(ids)
        if self.context_length and prompt_tokens + max_new_tokens > self.context_length:
            raise InputError(
                f"The request needs {prompt_tokens:,} prompt tokens plus {max_new_tokens:,} new "
                f"tokens, more than the model's context of {self.context_length:,}. Remove images "
                "or earlier messages, or ask for fewer new tokens."
            )
        hit = self.prompt_cache.take(ids, spans) if use_cache else None
        entry, cached = hit if hit else (CachedPrompt(new_cache(self.loaded.model.config), []), 0)
        entry.spans = spans
        entry.expansions = dict(zip(digests, expansions, strict=True))
        device = self.loaded.model.device
        tensors: dict[str, Any] = {
            "input_ids": torch.tensor([ids], dtype=torch.long, device=device),
            "attention_mask": torch.ones((1, len(ids)), dtype=torch.long, device=device),
        }
        # Only the images with tokens after the cached prefix go to the vision tower.
        after = [index for index, span in enumerate(spans) if span.end > cached]
        for index in after:
            if index not in processed:
                processed[index] = self._prompt.process(image_paths[index])
        # The vision tower runs in the model's dtype; the processor returns float32.
        pixels = [
            processed[i].pixel_values.to(device=device, dtype=self.loaded.dtype) for i in after
        ]
        skip = ids[spans[after[0]].start : cached].count(self._patch_id) if after else 0
        tool_tokens = 0
        if tools:  # the same conversation without tools, through the tokenizer only
            plain = self.render_prompt(messages)
            plain_tokens = len(self._tokenizer(plain, add_special_tokens=False)["input_ids"])
            with_tools = len(self._tokenizer(text, add_special_tokens=False)["input_ids"])
            tool_tokens = max(0, with_tools - plain_tokens)
        return PreparedInputs(
            tensors,
            prompt_tokens,
            ids.count(self._patch_id),
            len(image_paths),
            tool_tokens,
            ids=ids,
            cache=entry,
            cached_tokens=cached,
            pixels=pixels,
            skip_rows=skip,
        )

    def decoder(self) -> IncrementalDecoder:
        """A fresh decoder for the text of one generation."""
        return IncrementalDecoder(self._tokenizer)

    def generate(
        self,
        messages: Sequence[ChatMessage],
        params: Sampling,
        on_tokens: TokenCallback,
        should_stop: Callable[[], bool] = lambda: False,
        tools: Sequence[dict[str, Any]] = (),
        json_schema: dict[str, Any] | None = None,
    ) -> GenerationResult:
        """Generate an answer, calling `on_tokens(token_ids)` as tokens arrive.

        With `json_schema`, the answer is constrained to JSON valid for it
        (`app.inference.constrained`).
        """
        problem = params.problem()
        if problem:
            raise InputError(problem)
        started = time.perf_counter()
        prepared = self.prepare(messages, params.max_new_tokens, tools)
        generated: list[int] = []
        timing: dict[str, float] = {}

        def on_ids(ids: list[int]) -> None:
            now = time.perf_counter()
            timing.setdefault("first", now)
            timing["last"] = now
            generated.extend(ids)
            on_tokens(ids)

        kwargs: dict[str, Any] = {
            "max_new_tokens": params.max_new_tokens,
            "stopping_criteria": StoppingCriteriaList([_StopWhen(should_stop)]),
        }
        if params.temperature > 0:
            kwargs.update(do_sample=True, temperature=params.temperature, top_p=params.top_p)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        kwargs.update(params.generate_kwargs(sampling=params.temperature > 0))
        if json_schema is not None:
            kwargs.update(self._constrained_kwargs(json_schema, params))
        try:
            self._run(prepared, params, kwargs, on_ids, should_stop)
        except torch.OutOfMemoryError:
            if generated or (prepared.cached_tokens == 0 and not len(self.prompt_cache)):
                raise
            # Out of memory in the prefill, with caches kept: drop them and try once more.
            log.warning("out of memory in the prefill; dropping the prompt cache and retrying")
            prepared = self._without_caches(messages, params, prepared, tools)
            self._run(prepared, params, kwargs, on_ids, should_stop)
        if should_stop():
            reason = "cancelled"
        elif generated and generated[-1] in self._eos_ids:
            reason = "stop"
        else:
            reason = "length"
        first = timing.get("first", time.perf_counter())
        last = timing.get("last", first)
        rate = (len(generated) - 1) / (last - first) if len(generated) > 1 and last > first else 0.0
        return GenerationResult(
            prompt_tokens=prepared.prompt_tokens,
            image_tokens=prepared.image_tokens,
            generated_tokens=len(generated),
            time_to_first_token_s=first - started,
            tokens_per_s=rate,
            finish_reason=reason,
            token_ids=generated,
            tool_tokens=prepared.tool_tokens,
            cached_prompt_tokens=prepared.cached_tokens,
        )

    def free_memory(self) -> int:
        """Forget the kept prompt caches and the decode step's static cache; their bytes."""
        freed = self.prompt_cache.clear()
        if self._decode_step is not None:
            freed += self._decode_step.release()
        return freed

    def _constrained_kwargs(self, schema: dict[str, Any], params: Sampling) -> dict[str, Any]:
        from app.inference.constrained import ConstraintError, JsonConstraints, vocab_size

        if self._constraints is None:
            model = self.loaded.model
            self._constraints = JsonConstraints(self._tokenizer, vocab_size(model), self._eos_ids)
        try:
            kwargs: dict[str, Any] = self._constraints.generate_kwargs(
                schema, params.temperature, params.top_p
            )
        except ConstraintError as exc:
            raise InputError(str(exc)) from exc
        return kwargs

    def _run(
        self,
        prepared: PreparedInputs,
        params: Sampling,
        kwargs: dict[str, Any],
        on_ids: Callable[[list[int]], None],
        should_stop: Callable[[], bool],
    ) -> None:
        """Prefill in aligned chunks, `generate` from the last one, keep the cache after."""
        entry = prepared.cache
        assert entry is not None
        produced: list[int] = []

        def on_new(ids: list[int]) -> None:
            produced.extend(ids)
            on_ids(ids)

        model: Any = self.loaded.model
        chunk = self.prompt_cache.chunk_tokens
        input_ids = prepared.tensors["input_ids"]
        last = last_chunk_start(prepared.cached_tokens, len(prepared.ids), chunk)
        # What a later request can reuse bounds what the chunked layers keep meanwhile
        # (app.checkpoints.memory_model): nothing past the window without a prompt cache.
        history = self.prompt_cache.history_tokens if self.prompt_cache.max_entries else 0

        def bound() -> None:
            trim(entry.cache, history, copy=False)

        kwargs = {
            **kwargs,
            "stopping_criteria": StoppingCriteriaList(
                [*kwargs["stopping_criteria"], _BoundHistory(bound)]
            ),
        }
        with torch.inference_mode():
            rows = image_rows(model, prepared.pixels)
            rows = rows[prepared.skip_rows :] if rows is not None else None
            prefill_step = self.prefill_steps.step_for(len(prepared.ids))
            reached, rows = prefill_chunks(
                model, input_ids, entry.cache, prepared.cached_tokens, last, rows,
                self._patch_id, prefill_step, should_stop, bound,
            )  # fmt: skip
            if reached == last:
                if params.seed is not None:
                    torch.manual_seed(params.seed)
                step = self._decode_step
                if step is not None:
                    self._decode(step, prepared, kwargs, rows, last, on_new, should_stop)
                else:
                    model.generate(
                        **prepared.tensors,
                        **kwargs,
                        **encoder_outputs(rows),
                        streamer=_CallbackStreamer(on_new),
                        past_key_values=entry.cache,
                    )
        # Reached only when nothing raised: a request that failed keeps no cache.
        exact = min(reached, exact_length(len(prepared.ids), chunk))
        self.prompt_cache.keep_after(entry, prepared.ids + produced, exact)

    def _decode(
        self,
        step: DecodeStep,
        prepared: PreparedInputs,
        kwargs: dict[str, Any],
        rows: torch.Tensor | None,
        last: int,
        on_new: Callable[[list[int]], None],
        should_stop: Callable[[], bool],
    ) -> None:
        """Prefill the last chunk eagerly into the prompt's cache, then run the compiled step.

        The `DynamicCache` ends covering the prompt, as the prompt cache needs; the
        decoded tokens' keys and values live only in the step's static cache.
        """
        assert prepared.cache is not None
        input_ids = prepared.tensors["input_ids"]
        model: Any = self.loaded.model
        cache = prepared.cache.cache
        logits = prefill_logits(model, input_ids, cache, last, **encoder_outputs(rows))
        sampling = bool(kwargs.get("do_sample"))
        sampler = Sampler(
            temperature=float(kwargs.get("temperature") or 1.0) if sampling else 0.0,
            top_p=float(kwargs.get("top_p") or 1.0),
            min_p=float(kwargs.get("min_p") or 0.0),
            top_k=int((kwargs["top_k"] if "top_k" in kwargs else _default_top_k(model)) or 0),
            # generate() applies a repetition penalty before the processors it is given.
            processors=[*_penalty(kwargs), *(kwargs.get("logits_processor") or [])],
        )
        step.decode(
            cache,
            input_ids,
            logits,
            int(kwargs["max_new_tokens"]),
            sampler,
            on_token=lambda token: on_new([token]),
            stop=lambda token: token in self._eos_ids or should_stop(),
        )

    def _without_caches(
        self,
        messages: Sequence[ChatMessage],
        params: Sampling,
        failed: PreparedInputs,
        tools: Sequence[dict[str, Any]],
    ) -> PreparedInputs:
        failed.cache = None
        failed.tensors.clear()
        failed.pixels.clear()
        self.prompt_cache.clear()
        if self._decode_step is not None:
            self._decode_step.release()
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        return self.prepare(messages, params.max_new_tokens, tools, use_cache=False)


__all__ = [
    "ChatMessage",
    "Engine",
    "TokenCallback",
    "GenerationResult",
    "ImageError",
    "IncrementalDecoder",
    "InputError",
    "PreparedInputs",
]
