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
# raw control characters (a tab) into the string, which JSON forbids; a pattern, which it
# applies to the string's characters, excludes them (and `"` and `\`, which would need
# escapes). The schema the answer is checked against keeps its `maxLength`.
_STRING_CHARS = "[^\\x00-\\x1f]"


class ConstraintError(ValueError):
    """A schema the grammar engine cannot compile; the message is a sentence."""


class GrammarLogits(LogitsProcessor):
    """Masks the scores of one generation (batch of 1) to what the grammar allows next."""

    def __init__(self, compiled: Any, vocab_size: int, temperature: float, top_p: float) -> None:
        import xgrammar as xgr

        self._xgr = xgr
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
        self._started = True
        self._matcher.fill_next_token_bitmask(self._bitmask)
        mask = self._bitmask.to(scores.device, non_blocking=True)
        self._xgr.apply_token_bitmask_inplace(scores, mask, vocab_size=self._vocab_size)
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
        processor = GrammarLogits(self.compile(schema), self._vocab_size, temperature, top_p)
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
