"""The grammar alone guarantees the shape: random walks through it end valid, within budget.

No model here: each walk picks tokens of the demo's tokenizer at random among those the
grammar allows (`app.inference.constrained` compiles it), which is what random weights do
at worst, and the longest walks always pick a token other than the end while one is allowed.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
import torch

from app.inference.constrained import UTF8_START, ConstraintError, JsonConstraints, utf8_step
from app.structured.answer import check_answer
from app.structured.request import StructuredRequest, from_document

EVERY_TYPE = json.loads((Path(__file__).parent / "every_type.json").read_text(encoding="utf-8"))
NESTED = {
    "type": "object",
    "properties": {
        "id": {"type": "integer", "minimum": -5, "maximum": 5000},
        "note": {"anyOf": [{"type": "string", "maxLength": 12}, {"type": "null"}]},
        "items": {
            "type": "array",
            "maxItems": 3,
            "items": {"$ref": "#/$defs/line"},
        },
    },
    "required": ["id", "note", "items"],
    "$defs": {
        "line": {
            "type": "object",
            "properties": {"sku": {"const": "A-1"}, "qty": {"type": "number", "maximum": 99}},
            "required": ["sku", "qty"],
        }
    },
}


@pytest.fixture(scope="module")
def setup(demo_bf16: Path) -> tuple[Any, JsonConstraints]:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(demo_bf16)
    config = json.loads((demo_bf16 / "config.json").read_text(encoding="utf-8"))
    stops = json.loads((demo_bf16 / "generation_config.json").read_text())["eos_token_id"]
    return tokenizer, JsonConstraints(tokenizer, config["text_config"]["vocab_size"], stops)


def _walk(
    constraints: JsonConstraints, request: StructuredRequest, seed: int, longest: bool
) -> list[int]:
    """Tokens picked at random among those the app's logits processor leaves allowed."""
    compiled = constraints.compile(request.schema)
    vocab = compiled.tokenizer_info.vocab_size
    stops = set(compiled.tokenizer_info.stop_token_ids)
    processor = constraints.generate_kwargs(request.schema, 0.0, 1.0)["logits_processor"][0]
    rng = random.Random(seed)
    tokens: list[int] = []
    while not tokens or tokens[-1] not in stops:
        scores = processor(torch.tensor([[0, *tokens]]), torch.zeros(1, vocab))
        allowed = [int(i) for i in torch.nonzero(scores[0] == 0).flatten()]
        if longest and set(allowed) - stops:
            allowed = [i for i in allowed if i not in stops]
        tokens.append(rng.choice(allowed))
        assert len(tokens) <= request.budget, "the walk ran past the token budget"
    return tokens


@pytest.mark.parametrize("document", [EVERY_TYPE, NESTED], ids=["every-type", "nested"])
def test_every_walk_through_the_grammar_is_a_valid_answer_within_budget(
    setup: tuple[Any, JsonConstraints], document: dict[str, Any]
) -> None:
    tokenizer, constraints = setup
    request = from_document(document)
    for seed in range(16):
        tokens = _walk(constraints, request, seed, longest=seed < 4)
        text = tokenizer.decode(tokens[:-1], skip_special_tokens=True)
        check_answer(text, request.schema, "stop", request.budget)  # raises if not a result


def test_fields_come_in_the_order_they_were_described(setup: tuple[Any, JsonConstraints]) -> None:
    tokenizer, constraints = setup
    request = from_document(EVERY_TYPE)
    text = tokenizer.decode(_walk(constraints, request, 1, False)[:-1], skip_special_tokens=True)
    assert list(json.loads(text)) == [field["name"] for field in EVERY_TYPE["fields"]]


def test_a_schema_the_grammar_engine_cannot_compile_gets_a_sentence(
    setup: tuple[Any, JsonConstraints],
) -> None:
    _, constraints = setup
    with pytest.raises(ConstraintError, match="cannot turn this schema into a constraint: .*range"):
        constraints.compile({"type": "integer", "minimum": 5, "maximum": 1})


@pytest.mark.parametrize(
    ("data", "valid"),
    [
        ("é😀崉".encode(), True),
        (b"\xe5\xb4", True),  # a character still open: fine until the next token
        (b"\xe0\x87\xb9", False),  # overlong: what xgrammar alone lets through
        (b"\xed\xa0\x80", False),  # a surrogate
        (b"\xc0\xaf", False),
        (b"\x87", False),  # a continuation byte with no lead
        (b"\xf4\x90\x80\x80", False),  # past U+10FFFF
    ],
)
def test_utf8_guard_refuses_what_python_cannot_decode(data: bytes, valid: bool) -> None:
    assert (utf8_step(UTF8_START, data) is not None) is valid
