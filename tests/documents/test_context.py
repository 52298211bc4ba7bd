"""The context meter counts exactly the prompt tokens the real processor produces."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image

from app.documents.context import ContextError, ContextMeter, MeterTurn
from app.documents.tiling import tile_grid


def test_estimate_equals_processor(demo_bf16: Path) -> None:
    from transformers import AutoProcessor

    processor = AutoProcessor.from_pretrained(demo_bf16)
    meter = ContextMeter(demo_bf16)
    assert meter.context_length == 65536
    sizes = [(640, 360), (3840, 2160), (20, 700)]
    grids = tuple(tile_grid(*size, meter.settings) for size in sizes)
    turns = [
        MeterTurn("system", "Answer in French."),
        MeterTurn("user", "Compare these charts 📈 — ünïcode, 中文.", grids[:2]),
        MeterTurn("assistant", "They differ in scale."),
        MeterTurn("user", "And this receipt?\nTotal: 12,50 €", grids[2:]),
    ]
    chat = [
        {
            "role": turn.role,
            "content": [{"type": "image"} for _ in turn.images]
            + [{"type": "text", "text": turn.text}],
        }
        for turn in turns
    ]
    text = processor.apply_chat_template(chat, add_generation_prompt=True, tokenize=False)
    images = [Image.new("RGB", size, (90, 90, 200)) for size in sizes]
    ids = processor(text=text, images=images)["input_ids"][0]
    estimate = meter.estimate(turns, answer_tokens=256)
    assert estimate.prompt_tokens == len(ids)
    assert estimate.image_tokens == sum(grid.image_tokens for grid in grids)
    assert estimate.total == len(ids) + 256
    assert estimate.fits and estimate.problem() is None
    assert 0 < estimate.fraction < 1
    assert estimate.summary().endswith("(+256 for the answer) of 65,536")
    text_only = meter.estimate([MeterTurn("user", "Hello")])
    plain = processor(
        text=processor.apply_chat_template(
            [{"role": "user", "content": [{"type": "text", "text": "Hello"}]}],
            add_generation_prompt=True,
            tokenize=False,
        )
    )["input_ids"][0]
    assert text_only.prompt_tokens == len(plain) and text_only.image_tokens == 0


def test_over_the_context_is_told(demo_bf16: Path) -> None:
    meter = ContextMeter(demo_bf16, context_length=500)
    grid = tile_grid(1000, 1000, meter.settings)
    estimate = meter.estimate([MeterTurn("user", "Read this.", (grid, grid))], answer_tokens=100)
    assert not estimate.fits
    problem = estimate.problem()
    assert problem is not None
    assert f"{estimate.image_tokens:,} for 2 images" in problem
    assert f"{estimate.total - 500:,} more than the model's context of 500" in problem


def test_checkpoint_without_tokenizer_or_template(tmp_path: Path, demo_bf16: Path) -> None:
    with pytest.raises(ContextError, match="tokenizer of .* cannot be read"):
        ContextMeter(tmp_path)
    for name in ("tokenizer.json", "tokenizer_config.json", "processor_config.json"):
        shutil.copy(demo_bf16 / name, tmp_path / name)
    with pytest.raises(ContextError, match="has no chat template"):
        ContextMeter(tmp_path)
    (tmp_path / "chat_template.jinja").write_text("{{ raise_exception('no system role') }}")
    with pytest.raises(ContextError, match="chat template .* failed: no system role"):
        ContextMeter(tmp_path).estimate([MeterTurn("user", "hi")])
