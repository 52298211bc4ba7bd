"""Every bad image file gets its own clear message."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from app.inference.images import ImageError, check_image_count, image_facts, open_image


def test_good_images(images: dict[str, Path]) -> None:
    wide = image_facts(images["wide"])
    assert (wide.width, wide.height, wide.format) == (640, 360, "PNG")
    assert wide.file_bytes == images["wide"].stat().st_size
    assert open_image(images["tall"]).mode == "RGB"


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("empty", "empty \\(0 bytes\\)"),
        ("text", "not an image that can be read"),
        ("truncated", "damaged or truncated"),
    ],
)
def test_bad_files(images: dict[str, Path], key: str, message: str) -> None:
    with pytest.raises(ImageError, match=message):
        image_facts(images[key])


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="does not exist"):
        open_image(tmp_path / "gone.png")


def test_transparency_flattened_on_white(tmp_path: Path) -> None:
    path = tmp_path / "rgba.png"
    Image.new("RGBA", (8, 8), (255, 0, 0, 0)).save(path)
    assert open_image(path).getpixel((0, 0)) == (255, 255, 255)


def test_image_limit() -> None:
    check_image_count(5)
    with pytest.raises(ImageError, match="6 images in one request; the limit is 5"):
        check_image_count(6)
    check_image_count(6, limit=8)
