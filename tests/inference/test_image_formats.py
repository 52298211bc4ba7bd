"""Every accepted image format, EXIF orientation, transparency, 16-bit, and the size cap."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from app.inference.images import (
    MAX_IMAGE_SIDE,
    ImageError,
    image_facts,
    open_image,
    prepare_image,
)


@pytest.mark.parametrize(
    ("suffix", "fmt", "kwargs"),
    [
        (".png", "PNG", {}),
        (".jpg", "JPEG", {"quality": 90}),
        (".webp", "WEBP", {"lossless": True}),
        (".gif", "GIF", {}),
        (".bmp", "BMP", {}),
        (".tif", "TIFF", {}),
    ],
)
def test_formats(tmp_path: Path, suffix: str, fmt: str, kwargs: dict[str, object]) -> None:
    path = tmp_path / f"red{suffix}"
    Image.new("RGB", (30, 20), (250, 0, 0)).save(path, **kwargs)
    facts = image_facts(path)
    assert (facts.width, facts.height, facts.format, facts.notice) == (30, 20, fmt, "")
    red, green, blue = open_image(path).getpixel((5, 5))  # type: ignore[misc]
    assert red > 200 and green < 40 and blue < 40


def test_gif_first_frame(tmp_path: Path) -> None:
    path = tmp_path / "anim.gif"
    frames = [Image.new("RGB", (16, 16), colour) for colour in ((0, 0, 255), (255, 0, 0))]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert open_image(path).getpixel((8, 8)) == (0, 0, 255)


def test_exif_rotation_is_honoured(tmp_path: Path) -> None:
    path = tmp_path / "phone.jpg"
    image = Image.new("RGB", (60, 20), (0, 0, 0))
    image.paste((255, 255, 255), (0, 0, 10, 20))  # white band on the left
    exif = image.getexif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    image.save(path, exif=exif, quality=95)
    upright = open_image(path)
    assert upright.size == (20, 60)
    assert image_facts(path).width == 20
    assert sum(upright.getpixel((10, 5))) > 600  # the band is now at the top  # type: ignore[arg-type]
    assert sum(upright.getpixel((10, 55))) < 60  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P"])
def test_transparency_on_white(tmp_path: Path, mode: str) -> None:
    path = tmp_path / f"clear-{mode}.png"
    if mode == "P":  # a palette image whose entry 0 is transparent
        palette = Image.new("P", (8, 8), 0)
        palette.putpalette([255, 0, 0, 0, 0, 0])
        palette.paste(1, (0, 0, 4, 8))
        palette.save(path, transparency=0)
    else:
        rgba = Image.new("RGBA", (8, 8), (0, 0, 0, 0))
        rgba.paste((0, 0, 0, 255), (0, 0, 4, 8))
        (rgba if mode == "RGBA" else rgba.convert(mode)).save(path)
    image = open_image(path)
    assert image.getpixel((6, 4)) == (255, 255, 255)
    assert image.getpixel((1, 4)) == (0, 0, 0)


def test_sixteen_bit_grey_is_scaled_not_clipped(tmp_path: Path) -> None:
    path = tmp_path / "scan16.png"
    Image.new("I;16", (4, 4), 32768).save(path)
    assert open_image(path).getpixel((0, 0)) == (128, 128, 128)


def test_panorama_is_scaled_down_with_a_notice(tmp_path: Path) -> None:
    path = tmp_path / "panorama.png"
    Image.new("RGB", (12000, 900), (10, 120, 10)).save(path)
    prepared = prepare_image(path)
    assert prepared.image.size == (MAX_IMAGE_SIDE, 614)
    assert prepared.original_size == (12000, 900)
    facts = image_facts(path)
    assert (facts.width, facts.original_width) == (MAX_IMAGE_SIDE, 12000)
    assert "scaled down to 8192 × 614" in facts.notice


def test_decompression_bomb_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    Image.new("1", (9000, 9000)).save(path)  # 81 megapixels in a few kB
    assert path.stat().st_size < 100_000
    with pytest.raises(ImageError, match="9000 × 9000 pixels, more than the 80 megapixels"):
        image_facts(path)


def test_other_formats_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "icon.ico"
    Image.new("RGB", (16, 16)).save(path)
    with pytest.raises(ImageError, match=r"not an image that can be read \(PNG, JPEG"):
        open_image(path)


def test_truncated_jpeg(tmp_path: Path) -> None:
    path = tmp_path / "cut.jpg"
    Image.effect_noise((200, 200), 50).convert("RGB").save(path, quality=90)
    path.write_bytes(path.read_bytes()[:1500])
    with pytest.raises(ImageError, match="damaged or truncated"):
        open_image(path)
