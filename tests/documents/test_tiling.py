"""The tile grid and token cost computed without torch equal what the real processor does."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from app.documents.tiling import (
    MAVERICK,
    ProcessorSettings,
    TilingError,
    render_size,
    supported_grids,
    tile_grid,
)

SIZES = [
    (3840, 2160),  # 4K photos, both ways up
    (2160, 3840),
    (4032, 3024),
    (1, 1),  # tiny
    (10, 10),
    (50, 30),
    (111, 113),
    (8000, 200),  # extreme panoramas
    (200, 8000),
    (8192, 273),
    (5000, 336),
    (336, 336),
    (337, 336),
    (672, 336),
    (1000, 1000),
    (1344, 1344),
    (1345, 1344),
    (1008, 1424),  # A4 pages drawn for Maverick and for the demo
    (336, 474),
    (640, 360),
    (150, 500),
]


@pytest.fixture(scope="module")
def processors(demo_bf16: Path) -> dict[str, Any]:
    """The demo's own processor (112 px tiles) and one with Maverick's image settings."""
    from transformers import AutoProcessor, AutoTokenizer
    from transformers.models.llama4 import Llama4ImageProcessor, Llama4Processor

    demo = AutoProcessor.from_pretrained(demo_bf16)
    maverick = Llama4Processor(
        image_processor=Llama4ImageProcessor(size={"height": 336, "width": 336}, max_patches=16),
        tokenizer=AutoTokenizer.from_pretrained(demo_bf16),
        patch_size=14,
    )
    return {"demo": demo, "maverick": maverick}


def _processed_tokens(processor: Any, size: tuple[int, int]) -> tuple[int, int]:
    """(tokens from <|image_start|> to <|image_end|> inclusive, <|patch|> tokens)."""
    encoded = processor(text="<|image|>", images=[Image.new("RGB", size, (200, 30, 30))])
    ids = list(encoded["input_ids"][0])
    tokenizer = processor.tokenizer
    start = ids.index(tokenizer.convert_tokens_to_ids("<|image_start|>"))
    end = ids.index(tokenizer.convert_tokens_to_ids("<|image_end|>"))
    return end - start + 1, ids.count(tokenizer.convert_tokens_to_ids("<|patch|>"))


@pytest.mark.parametrize("which", ["demo", "maverick"])
def test_token_cost_equals_processor(
    processors: dict[str, Any], demo_bf16: Path, which: str
) -> None:
    settings = ProcessorSettings.from_checkpoint(demo_bf16) if which == "demo" else MAVERICK
    processor = processors[which]
    for size in SIZES:
        grid = tile_grid(*size, settings)
        assert _processed_tokens(processor, size) == (grid.image_tokens, grid.patch_tokens), size
        features = processor.image_processor(images=[Image.new("RGB", size)])
        assert [int(v) for v in features["aspect_ratios"][0]] == [grid.rows, grid.cols], size


def test_grid_choice_equals_get_best_fit_for_many_sizes() -> None:
    import torch
    from transformers.image_utils import SizeDict
    from transformers.models.llama4.image_processing_llama4 import (
        find_supported_resolutions,
        get_best_fit,
    )

    rng = random.Random(5)
    sizes = [(rng.randint(1, 9000), rng.randint(1, 9000)) for _ in range(3000)]
    sizes += [(rng.randint(1, 400), rng.randint(1, 400)) for _ in range(1000)]
    for tile in (336, 112):
        settings = ProcessorSettings(tile_size=tile)
        find_supported_resolutions.cache_clear()
        resolutions = torch.tensor(
            find_supported_resolutions(16, SizeDict(height=tile, width=tile))
        )
        assert [tuple(r) for r in resolutions.tolist()] == [
            (rows * tile, cols * tile) for rows, cols in supported_grids(16)
        ]
        for width, height in sizes:
            want = [int(v) // tile for v in get_best_fit((height, width), resolutions)]
            grid = tile_grid(width, height, settings)
            assert [grid.rows, grid.cols] == want, (width, height)


def test_maverick_figures() -> None:
    assert MAVERICK.tokens_per_tile == 144
    single = tile_grid(300, 200)
    assert (single.tiles, single.image_tokens, single.patch_tokens) == (1, 147, 144)
    assert single.label() == "1 tile · 147 tokens"
    wide = tile_grid(1008, 672)  # 2 rows × 3 columns exactly
    assert (wide.rows, wide.cols) == (2, 3)
    assert wide.image_tokens == 145 * 6 + 147 == 1017
    assert wide.patch_tokens == 144 * 7
    assert wide.label() == "2×3 tiles + global view · 1,017 tokens"


def test_demo_settings_from_checkpoint(demo_bf16: Path) -> None:
    settings = ProcessorSettings.from_checkpoint(demo_bf16)
    assert (settings.tile_size, settings.max_patches, settings.tokens_per_tile) == (112, 16, 16)
    grid = tile_grid(336, 224, settings)
    assert grid.image_tokens == 17 * 6 + 16 + 3


def test_tile_boxes_cover_the_image() -> None:
    grid = tile_grid(1000, 500)
    boxes = grid.tile_boxes()
    assert len(boxes) == grid.tiles
    assert boxes[0][:2] == (0, 0)
    assert max(box[2] for box in boxes) == pytest.approx(1000)
    assert max(box[3] for box in boxes) == pytest.approx(500)


@pytest.mark.parametrize("page", [(595.3, 841.9), (841.9, 595.3), (612, 792), (200, 4000)])
def test_render_size_fills_the_largest_canvas(page: tuple[float, float]) -> None:
    for settings in (MAVERICK, ProcessorSettings(tile_size=112)):
        width, height = render_size(*page, settings)
        grid = tile_grid(width, height, settings)
        assert grid.tiles <= settings.max_patches
        # One side fills the canvas: the processor will neither upscale nor shrink it.
        assert width == grid.canvas_width or height == grid.canvas_height
        assert abs(width / height - page[0] / page[1]) < 0.01
        assert grid.content_width == width and grid.content_height == height
    a4 = render_size(595.3, 841.9)
    assert a4 == (1008, 1425)
    assert tile_grid(*a4).tiles == 15
    assert tile_grid(*render_size(595.3, 841.9, max_tiles=4)).tiles <= 4


def test_bad_settings(tmp_path: Path) -> None:
    with pytest.raises(TilingError, match="neither processor_config.json"):
        ProcessorSettings.from_checkpoint(tmp_path)
    (tmp_path / "preprocessor_config.json").write_text('{"size": {"height": 336, "width": 300}}')
    with pytest.raises(TilingError, match="not square"):
        ProcessorSettings.from_checkpoint(tmp_path)
    (tmp_path / "preprocessor_config.json").write_text("{broken")
    with pytest.raises(TilingError, match="cannot be read"):
        ProcessorSettings.from_checkpoint(tmp_path)
    with pytest.raises(TilingError, match="cannot be tiled"):
        tile_grid(0, 10)
