"""Preparation of inputs: five 4K photos and ten PDF pages turned into model inputs.

For each input: decode (or draw the PDF page at the size the tiles want), work out the
tile grid without torch, then run the real Llama 4 processor with Maverick's image
settings (336 px tiles, up to 16) on CPU, as the worker does before generating. Prints
the measured times; the last line is ``RESULTS [...]`` (bench/common.py).

Usage: python bench/prepare_inputs.py
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Result, demo_root, emit, spread  # noqa: E402


def _photo(path: Path, seed: int) -> None:
    """A 3840×2160 JPEG with enough detail to cost a real decode."""
    rng = random.Random(seed)
    noise = Image.effect_noise((3840, 2160), 40).convert("RGB")
    draw = ImageDraw.Draw(noise)
    for _ in range(200):
        x, y = rng.randrange(3840), rng.randrange(2160)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        draw.ellipse((x, y, x + rng.randrange(20, 400), y + rng.randrange(20, 400)), fill=colour)
    noise.save(path, quality=90)


def _pdf(path: Path, pages: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    with PdfPages(path) as out:
        for number in range(1, pages + 1):
            fig, axes = plt.subplots(2, 1, figsize=(8.27, 11.69))
            axes[0].bar(range(12), [(number * k) % 17 + 3 for k in range(12)])
            axes[0].set_title(f"Monthly figures, page {number}")
            axes[1].plot(range(50), [((number + k) % 9) ** 0.5 for k in range(50)])
            fig.text(0.1, 0.02, "Notes: " + "lorem ipsum dolor sit amet " * 6, fontsize=7)
            out.savefig(fig)
            plt.close(fig)


def main() -> None:
    from transformers import AutoTokenizer
    from transformers.models.llama4 import Llama4ImageProcessor, Llama4Processor

    from app.documents.pdf import PdfFile
    from app.documents.tiling import MAVERICK, tile_grid
    from app.inference.images import open_image

    processor = Llama4Processor(
        image_processor=Llama4ImageProcessor(size={"height": 336, "width": 336}, max_patches=16),
        tokenizer=AutoTokenizer.from_pretrained(demo_root() / "bf16"),
        patch_size=14,
    )
    processor(text="<|image|>", images=[Image.new("RGB", (64, 64))])  # warm up
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="md-bench-inputs-") as tmp:
        folder = Path(tmp)
        photos = [folder / f"photo{i}.jpg" for i in range(5)]
        for seed, path in enumerate(photos):
            _photo(path, seed)
        pdf_path = folder / "report.pdf"
        _pdf(pdf_path, 10)

        decode, tiles, process = [], [], []
        for path in photos:
            started = time.perf_counter()
            image = open_image(path)
            decode.append(time.perf_counter() - started)
            started = time.perf_counter()
            grid = tile_grid(*image.size, MAVERICK)
            tiles.append(time.perf_counter() - started)
            started = time.perf_counter()
            ids = processor(text="<|image|>", images=[image])["input_ids"][0]
            process.append(time.perf_counter() - started)
            assert len(ids) == grid.image_tokens, (len(ids), grid.image_tokens)
        print(f"4K photo: {grid.label()}")
        results += [
            Result("4K photo: decode (Pillow, EXIF, RGB)", 1000 * min(decode), "ms",
                   detail=spread([1000 * t for t in decode], 1) + " ms"),
            Result("4K photo: tile grid and token cost (no torch)", 1e6 * min(tiles), "µs",
                   detail=spread([1e6 * t for t in tiles], 1) + " µs"),
            Result("4K photo: Llama 4 processor (CPU)", 1000 * min(process), "ms",
                   detail=spread([1000 * t for t in process], 1) + " ms"),
            Result("5 4K photos: total to model inputs", sum(decode) + sum(process), "s"),
        ]  # fmt: skip

        opened = time.perf_counter()
        draw, process = [], []
        with PdfFile(pdf_path) as pdf:
            open_s = time.perf_counter() - opened
            for number in range(1, pdf.page_count + 1):
                started = time.perf_counter()
                page = pdf.render_for_model(number, MAVERICK)
                draw.append(time.perf_counter() - started)
                started = time.perf_counter()
                ids = processor(text="<|image|>", images=[page])["input_ids"][0]
                process.append(time.perf_counter() - started)
                assert len(ids) == tile_grid(*page.size).image_tokens
            started = time.perf_counter()
            for _ in pdf.thumbnails(range(1, pdf.page_count + 1)):
                pass
            thumbs = time.perf_counter() - started
        print(f"PDF page: {page.width}×{page.height} px, {tile_grid(*page.size).label()}")
        results += [
            Result("PDF: open and count pages", 1000 * open_s, "ms"),
            Result("PDF page: draw at the tiles' size (pdfium)", 1000 * min(draw), "ms",
                   detail=spread([1000 * t for t in draw], 1) + " ms"),
            Result("PDF page: thumbnail", 1000 * thumbs / 10, "ms", detail="mean of 10 pages"),
            Result("PDF page: Llama 4 processor (CPU)", 1000 * min(process), "ms",
                   detail=spread([1000 * t for t in process], 1) + " ms"),
            Result("10 PDF pages: total to model inputs", sum(draw) + sum(process), "s"),
        ]  # fmt: skip
    emit(results)


if __name__ == "__main__":
    main()
