"""The tile grid the Llama 4 image processor picks for an image, and what it costs in tokens.

`Llama4ImageProcessor` fits every image onto a canvas of whole tiles (at most `max_patches`
of them), cuts the canvas into tiles and, for more than one tile, adds a global view of
the whole image. `Llama4Processor` then writes for each image:

    <|image_start|> [tile patches, <|tile_x_separator|> between tiles of a row,
    <|tile_y_separator|> after each row] <|image|> <global patches> <|image_end|>

so an image of h×w tiles costs (p+1)·h·w + p + 3 tokens and a single tile p + 3, where p
is the number of patches a tile becomes (144 for Maverick's 336 px tiles, 16 for the
demo's 112 px tiles). This module replicates the processor's arithmetic without torch:
`get_best_fit` compares float32 scale factors, so the same rounding is used here
(a float64 quotient rounded to float32 is the correctly rounded float32 quotient).
"""

from __future__ import annotations

import json
import math
import struct
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any


class TilingError(ValueError):
    """A checkpoint whose image settings cannot be read, with a message for the user."""


@dataclass(frozen=True)
class ProcessorSettings:
    """The image settings of a checkpoint's processor (Maverick's by default)."""

    tile_size: int = 336
    max_patches: int = 16
    patch_size: int = 14
    pixel_shuffle_ratio: float = 0.5
    resize_to_max_canvas: bool = False

    @property
    def tokens_per_tile(self) -> int:
        """How many `<|patch|>` tokens one tile becomes."""
        side = self.tile_size // self.patch_size
        downsample = int(round(1.0 / (self.pixel_shuffle_ratio**2)))
        return side * side // downsample

    @classmethod
    def from_checkpoint(cls, folder: Path | str) -> ProcessorSettings:
        """Read processor_config.json (and preprocessor_config.json) as transformers would."""
        folder = Path(folder)
        processor = _read_json(folder / "processor_config.json")
        image = processor.get("image_processor")
        if not isinstance(image, dict):
            image = _read_json(folder / "preprocessor_config.json")
        if not processor and not image:
            raise TilingError(
                f"{folder} has neither processor_config.json nor preprocessor_config.json, so "
                "the image tiling cannot be worked out. Is it a Llama 4 checkpoint folder?"
            )
        defaults = cls()
        size = image.get("size") or {}
        height = int(size.get("height", defaults.tile_size))
        width = int(size.get("width", defaults.tile_size))
        if height != width or height < 1:
            raise TilingError(
                f"{folder.name}: the image processor's tile size {width}×{height} is not "
                "square; Llama 4 tiles are square."
            )
        return cls(
            tile_size=height,
            max_patches=int(image.get("max_patches", defaults.max_patches)),
            patch_size=int(processor.get("patch_size", defaults.patch_size)),
            pixel_shuffle_ratio=float(
                processor.get("pixel_shuffle_ratio", defaults.pixel_shuffle_ratio)
            ),
            resize_to_max_canvas=bool(
                image.get("resize_to_max_canvas", defaults.resize_to_max_canvas)
            ),
        )


MAVERICK = ProcessorSettings()


@dataclass(frozen=True)
class TileGrid:
    """The canvas an image is fitted onto, and its token cost."""

    image_width: int
    image_height: int
    rows: int
    cols: int
    tile_size: int
    tokens_per_tile: int
    # The part of the canvas the resized image covers (the rest is padding, right and
    # bottom). For drawing only: may differ from the processor's by a pixel.
    content_width: int
    content_height: int

    @property
    def tiles(self) -> int:
        return self.rows * self.cols

    @property
    def has_global_view(self) -> bool:
        """More than one tile: the processor adds the whole image as one more tile."""
        return self.tiles > 1

    @property
    def canvas_width(self) -> int:
        return self.cols * self.tile_size

    @property
    def canvas_height(self) -> int:
        return self.rows * self.tile_size

    @property
    def patch_tokens(self) -> int:
        """The `<|patch|>` tokens (what the worker reports as image tokens)."""
        return self.tokens_per_tile * (self.tiles + (1 if self.has_global_view else 0))

    @property
    def image_tokens(self) -> int:
        """Every token of the image, `<|image_start|>` to `<|image_end|>` inclusive."""
        if self.has_global_view:
            return (self.tokens_per_tile + 1) * self.tiles + self.tokens_per_tile + 3
        return self.tokens_per_tile + 3

    def label(self) -> str:
        """For example "2×3 tiles + global view · 1,017 tokens" (rows × columns)."""
        grid = f"{self.rows}×{self.cols} tiles + global view" if self.has_global_view else "1 tile"
        return f"{grid} · {self.image_tokens:,} tokens"

    def tile_boxes(self) -> list[tuple[float, float, float, float]]:
        """Each tile as (left, top, right, bottom) in the original image's pixels.

        Row by row, as the processor orders them; tiles that fall on padding only are
        clipped to the image's edge (they may be empty), so an overlay can draw the grid.
        """
        sx = self.image_width / self.content_width
        sy = self.image_height / self.content_height
        boxes = []
        for row in range(self.rows):
            for col in range(self.cols):
                left = min(col * self.tile_size * sx, self.image_width)
                top = min(row * self.tile_size * sy, self.image_height)
                right = min((col + 1) * self.tile_size * sx, self.image_width)
                bottom = min((row + 1) * self.tile_size * sy, self.image_height)
                boxes.append((left, top, right, bottom))
        return boxes


def tile_grid(width: int, height: int, settings: ProcessorSettings = MAVERICK) -> TileGrid:
    """The grid `Llama4ImageProcessor` picks for an image of `width` × `height` pixels.

    The size is that of the image handed to the processor: after EXIF orientation and any
    downscaling by `app.inference.images.open_image` (use `image_facts` for a file).
    """
    if width < 1 or height < 1:
        raise TilingError(f"An image of {width} × {height} pixels cannot be tiled.")
    tile = settings.tile_size
    canvas_h, canvas_w = _best_fit(
        height, width, tile, settings.max_patches, settings.resize_to_max_canvas
    )
    target_h, target_w = canvas_h * tile, canvas_w * tile
    if not settings.resize_to_max_canvas:
        # The processor never upscales past one tile's size.
        target_h = min(max(height, tile), target_h)
        target_w = min(max(width, tile), target_w)
    content_h, content_w = _fit_without_distortion(height, width, target_h, target_w)
    return TileGrid(
        image_width=width,
        image_height=height,
        rows=canvas_h,
        cols=canvas_w,
        tile_size=tile,
        tokens_per_tile=settings.tokens_per_tile,
        content_width=max(content_w, 1),
        content_height=max(content_h, 1),
    )


def render_size(
    width: float, height: float, settings: ProcessorSettings = MAVERICK, max_tiles: int = 0
) -> tuple[int, int]:
    """The pixel size to draw a page of `width` × `height` (any unit) at for the model.

    It is the largest size that fits, undistorted, the canvas the processor would pick for
    a large image of this shape, using at most `max_tiles` tiles (default: all the
    processor allows). Drawing larger would only be scaled down again by the processor.
    """
    if width <= 0 or height <= 0:
        raise TilingError(f"A page of {width} × {height} has no area to draw.")
    limit = min(max_tiles or settings.max_patches, settings.max_patches)
    tile = settings.tile_size
    best: tuple[float, int, int, int] | None = None
    for rows, cols in supported_grids(limit):
        scale = min(rows * tile / height, cols * tile / width)
        key = (scale, -(rows * cols), rows, cols)
        if best is None or key[:2] > best[:2]:
            best = key
    assert best is not None
    scale = best[0]
    return max(1, math.floor(width * scale + 1e-6)), max(1, math.floor(height * scale + 1e-6))


@lru_cache(maxsize=8)
def supported_grids(max_tiles: int) -> tuple[tuple[int, int], ...]:
    """Every (rows, cols) of at most `max_tiles` tiles, in the processor's order."""
    by_ratio: dict[float, list[tuple[int, int]]] = defaultdict(list)
    for count in range(max_tiles, 0, -1):
        for factor in sorted(_factors(count)):
            by_ratio[factor / (count // factor)].append((factor, count // factor))
    return tuple(grid for grids in by_ratio.values() for grid in grids)


def _factors(n: int) -> set[int]:
    found: set[int] = set()
    for i in range(1, int(n**0.5) + 1):
        if n % i == 0:
            found.update((i, n // i))
    return found


def _float32(value: float) -> float:
    return float(struct.unpack("f", struct.pack("f", value))[0])


def _best_fit(
    height: int, width: int, tile: int, max_tiles: int, resize_to_max_canvas: bool
) -> tuple[int, int]:
    """`get_best_fit` over `find_supported_resolutions`, returned in tiles (rows, cols)."""
    grids = supported_grids(max_tiles)
    scales = [
        (_float32(rows * tile / height), _float32(cols * tile / width)) for rows, cols in grids
    ]
    return _choose(grids, scales, resize_to_max_canvas)


def _choose(
    grids: tuple[tuple[int, int], ...],
    scales: list[tuple[float, float]],
    resize_to_max_canvas: bool,
) -> tuple[int, int]:
    limiting = [scale_w if scale_h > scale_w else scale_h for scale_h, scale_w in scales]
    upscaling = [s for s in limiting if s >= 1]
    if upscaling:
        selected = max(upscaling) if resize_to_max_canvas else min(upscaling)
    else:
        selected = max(s for s in limiting if s < 1)
    chosen = [grid for grid, s in zip(grids, limiting, strict=True) if s == selected]
    return min(chosen, key=lambda grid: grid[0] * grid[1])  # first of the smallest area


def _fit_without_distortion(
    height: int, width: int, target_h: int, target_w: int
) -> tuple[int, int]:
    scale_w = target_w / width
    scale_h = target_h / height
    if scale_w < scale_h:
        return min(math.floor(height * scale_w), target_h), target_w
    return target_h, min(math.floor(width * scale_h), target_w)


def read_json_object(path: Path, error: type[ValueError] = ValueError) -> dict[str, Any]:
    """A checkpoint's JSON file as a dict ({} if absent); unreadable files raise `error`."""
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise error(f"{path.name} in {path.parent} cannot be read: {exc}.") from exc
    return data if isinstance(data, dict) else {}


def _read_json(path: Path) -> dict[str, Any]:
    return read_json_object(path, TilingError)
