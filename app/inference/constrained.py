"""Grammar-constrained decoding: the answer can only be JSON valid for a schema.

xgrammar (the engine vLLM and SGLang use) compiles the schema into a grammar over the
model's tokenizer; before each token, `GrammarLogits` masks every token the grammar does
not allow at that point, and once the JSON is complete only an end-of-answer token is
left. The constraint, not the model, guarantees the shape: even random weights answer
with valid JSON.

Sampling runs inside `GrammarLogits`, after the mask: transformers would apply its top-p
and top-k warpers *before* a processor passed to `generate`, and could leave no allowed
token at all. So with a schema, `generate` gets temperature 1, top-p 1 and no top-k, and
`GrammarLogits` scales and cuts the masked scores itself.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterable
from typing import Any

import torch
from transformers import LogitsProcessor

# The answer's layout is fixed (", " and ": " between items, no other whitespace): with
# free whitespace an answer could pad itself past any budget.
ANY_WHITESPACE = False


# A bounded string, as the grammar engine gets it: xgrammar's own `maxLength` grammar lets
# raw control characters (a tab) into the string, which JSON forbids, and both let in
# UTF-8-encoded surrogates (U+D800-U+DFFF), which decode to three U+FFFD each and make
# the text too long. A pattern, applied to the string's characters, excludes them both
# (and `"` and `\`, which would need escapes). The schema the answer is checked against
# keeps its `maxLength`.
_STRING_CHARS = "[^\\x00-\\x1f\\ud800-\\udfff]"


class ConstraintError(ValueError):
    """A schema the grammar engine cannot compile; the message is a sentence."""


class GrammarLogits(LogitsProcessor):
    """Masks the scores of one generation (batch of 1) to what the grammar allows next."""

    def __init__(
        self,
        compiled: Any,
        vocab_size: int,
        temperature: float,
        top_p: float,
        utf8: Utf8Guard | None = None,
    ) -> None:
        import xgrammar as xgr

        self._xgr = xgr
        self._utf8 = utf8
        self._state = UTF8_START
        self._matcher = xgr.GrammarMatcher(compiled)
        self._bitmask = xgr.allocate_token_bitmask(1, vocab_size)
        self._vocab_size = vocab_size
        self._temperature = temperature
        self._top_p = top_p
        self._started = False

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        if input_ids.shape[0] != 1:
            raise ValueError("constrained decoding runs one answer at a time")
        if self._started:
            token = int(input_ids[0, -1])
            if not self._matcher.accept_token(token):
                raise RuntimeError(f"token {token} broke the grammar it was sampled under")
            if self._utf8 is not None:
                self._state = self._utf8.after(self._state, token)
        self._started = True
        self._matcher.fill_next_token_bitmask(self._bitmask)
        mask = self._bitmask.to(scores.device, non_blocking=True)
        self._xgr.apply_token_bitmask_inplace(scores, mask, vocab_size=self._vocab_size)
        if self._utf8 is not None:
            scores.masked_fill_(self._utf8.invalid(self._state, scores.device), -float("inf"))
        if self._temperature > 0:
            return _top_p(scores / self._temperature, self._top_p)  # type: ignore[return-value]
        return scores


def _top_p(scores: torch.Tensor, top_p: float) -> torch.Tensor:
    """Keep the most likely tokens whose probabilities add up to `top_p` (at least one)."""
    if top_p >= 1.0:
        return scores
    ordered, order = torch.sort(scores, descending=False)
    cumulative = ordered.softmax(dim=-1).cumsum(dim=-1)
    drop = cumulative <= (1 - top_p)
    drop[..., -1:] = False
    return scores.masked_fill(drop.scatter(1, order, drop), -float("inf"))


# UTF-8 decoding state between tokens: the range the next byte must be in and how many
# continuation bytes the character still needs; (0, 0, 0) between characters.
Utf8State = tuple[int, int, int]
UTF8_START: Utf8State = (0, 0, 0)


def utf8_step(state: Utf8State, data: bytes) -> Utf8State | None:
    """The state after `data`, or None if it makes the text invalid UTF-8 (RFC 3629)."""
    low, high, left = state
    for byte in data:
        if left:
            if not low <= byte <= high:
                return None
            low, high, left = 0x80, 0xBF, left - 1
        elif byte < 0x80:
            continue
        elif 0xC2 <= byte <= 0xDF:
            low, high, left = 0x80, 0xBF, 1
        elif 0xE0 <= byte <= 0xEF:
            low = 0xA0 if byte == 0xE0 else 0x80
            high = 0x9F if byte == 0xED else 0xBF  # ED A0..: surrogates
            left = 2
        elif 0xF0 <= byte <= 0xF4:
            low = 0x90 if byte == 0xF0 else 0x80
            high = 0x8F if byte == 0xF4 else 0xBF
            left = 3
        else:
            return None
    return (low, high, left) if left else UTF8_START


class Utf8Guard:
    """Masks tokens whose bytes would make the answer invalid UTF-8.

    xgrammar decodes UTF-8 leniently: it lets a byte-level tokenizer spell a character in
    an overlong form (E0 87 B9 for U+01F9), which decodes to three U+FFFD and makes a
    bounded string too long. Random weights pick such tokens; this mask, one per state
    (a few), keeps every answer valid text. Masks are made the first time a state occurs.
    """

    def __init__(self, token_bytes: list[bytes], vocab_size: int) -> None:
        self._bytes = token_bytes + [b""] * max(0, vocab_size - len(token_bytes))
        self._masks: dict[tuple[Utf8State, str], torch.Tensor] = {}

    def after(self, state: Utf8State, token: int) -> Utf8State:
        data = self._bytes[token] if token < len(self._bytes) else b""
        return utf8_step(state, data) or UTF8_START

    def invalid(self, state: Utf8State, device: torch.device) -> torch.Tensor:
        key = (state, str(device))
        mask = self._masks.get(key)
        if mask is None:
            bad = [utf8_step(state, data) is None for data in self._bytes]
            mask = torch.tensor(bad, dtype=torch.bool, device=device).unsqueeze(0)
            self._masks[key] = mask
        return mask


class JsonConstraints:
    """Compiles schemas into grammars for one model's tokenizer (compiled grammars are cached)."""

    def __init__(self, tokenizer: Any, vocab_size: int, stop_ids: Iterable[int]) -> None:
        import xgrammar as xgr

        info = xgr.TokenizerInfo.from_huggingface(
            tokenizer, vocab_size=vocab_size, stop_token_ids=sorted(set(stop_ids))
        )
        self._compiler = xgr.GrammarCompiler(info)
        self._vocab_size = vocab_size
        self._lock = threading.Lock()
        self.utf8 = Utf8Guard([bytes(b) for b in info.decoded_vocab], vocab_size)

    def compile(self, schema: dict[str, Any]) -> Any:
        """The grammar for `schema`; raise `ConstraintError` if the engine cannot compile it."""
        text = json.dumps(grammar_schema(schema), ensure_ascii=False)
        try:
            with self._lock:
                return self._compiler.compile_json_schema(
                    text, any_whitespace=ANY_WHITESPACE, strict_mode=True
                )
        except (RuntimeError, ValueError) as exc:
            detail = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
            # xgrammar prefixes its messages with "[time] file.cc:line: "; keep what follows.
            detail = detail.split(": ", 1)[-1] if ".cc:" in detail else detail
            raise ConstraintError(
                f"The grammar engine cannot turn this schema into a constraint: {detail}."
            ) from exc

    def generate_kwargs(
        self, schema: dict[str, Any], temperature: float, top_p: float
    ) -> dict[str, Any]:
        """What `model.generate` gets, in place of its sampling settings, to answer in `schema`."""
        compiled = self.compile(schema)
        processor = GrammarLogits(compiled, self._vocab_size, temperature, top_p, self.utf8)
        kwargs: dict[str, Any] = {"logits_processor": [processor]}
        if temperature > 0:
            kwargs.update(do_sample=True, temperature=1.0, top_p=1.0, top_k=0)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        return kwargs


def grammar_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of `schema` for the grammar engine: bounded strings as patterns (see above)."""
    out = copy.deepcopy(schema)
    _strings_as_patterns(out)
    for key in ("$defs", "definitions"):
        for sub in (out.get(key) or {}).values():
            _strings_as_patterns(sub)
    return out


def _strings_as_patterns(node: Any) -> None:
    if not isinstance(node, dict):
        return
    plain = not ({"enum", "const", "format", "pattern"} & node.keys())
    if node.get("type") == "string" and plain and "maxLength" in node:
        low = int(node.pop("minLength", 0))
        node["pattern"] = f"{_STRING_CHARS}{{{low},{int(node.pop('maxLength'))}}}"
    for sub in (node.get("properties") or {}).values():
        _strings_as_patterns(sub)
    _strings_as_patterns(node.get("items"))
    for key in ("anyOf", "oneOf"):
        for sub in node.get(key) or []:
            _strings_as_patterns(sub)


def vocab_size(model: Any) -> int:
    """How many scores the model's head gives per token (can exceed the tokenizer's size)."""
    head = model.get_output_embeddings()
    if head is not None and getattr(head, "weight", None) is not None:
        return int(head.weight.shape[0])
    config = model.config
    text = getattr(config, "text_config", None) or config
    return int(text.vocab_size)
