"""Opening image files for the model, with a clear message for every bad file.

Pillow only, no torch: the UI process uses this to check a dropped file before it
becomes an attachment, and the worker uses it again before a request.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from app.inference.user_files import check_user_file

DEFAULT_IMAGE_LIMIT = 5  # the number of images per request Maverick was tested with
MAX_IMAGE_PIXELS = 80_000_000  # refuse decompression bombs well before memory runs out
MAX_FILE_BYTES = 200 * 1024 * 1024
# Longer sides are scaled down (with a notice): the processor keeps at most 16 tiles of
# 336 px, so more pixels only cost memory and time. Panoramas are the usual case.
MAX_IMAGE_SIDE = 8192
# JPEG includes MPO, the multi-picture JPEG many phone cameras write.
ACCEPTED_FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF")


class ImageError(ValueError):
    """An image file that cannot be used, with a message for the user."""


@dataclass(frozen=True)
class ImageFacts:
    """What the composer shows on an attachment chip."""

    path: Path
    width: int
    height: int
    file_bytes: int
    format: str
    # Set when the image was scaled down to MAX_IMAGE_SIDE: width/height are the model's
    # size, original_* the file's (after EXIF orientation), and `notice` says so.
    original_width: int = 0
    original_height: int = 0
    notice: str = ""


@dataclass(frozen=True)
class PreparedImage:
    """A decoded image as the model gets it, with a notice if it was scaled down."""

    image: Image.Image
    original_size: tuple[int, int]
    notice: str = ""


def _check_file(path: Path) -> int:
    return check_user_file(path, noun="an image", max_bytes=MAX_FILE_BYTES, error=ImageError)


def open_image(path: Path | str) -> Image.Image:
    """Decode an image fully and return it as RGB, upright, on white, at most MAX_IMAGE_SIDE."""
    return prepare_image(path).image


def prepare_image(path: Path | str) -> PreparedImage:
    """Like `open_image`, and say whether (and from what size) the image was scaled down."""
    path = Path(path)
    _check_file(path)
    Image.init()  # registers every plugin `formats` may name (once; then a no-op)
    try:
        with Image.open(path, formats=ACCEPTED_FORMATS) as img:
            _check_pixels(path, img.size)
            img.seek(0)  # first frame of an animation
            img.load()
            upright = ImageOps.exif_transpose(img)
            rgb = _to_rgb(upright)
    except ImageError:
        raise
    except Image.DecompressionBombError as exc:
        # Pillow refuses beyond twice its own limit before the size can be read here.
        raise ImageError(
            f"{path.name} has far more than the {MAX_IMAGE_PIXELS // 1_000_000} megapixels "
            "accepted (decoding it could exhaust memory); scale it down first."
        ) from exc
    except UnidentifiedImageError as exc:
        raise ImageError(
            f"{path.name} is not an image that can be read (PNG, JPEG, WebP, GIF, BMP, TIFF)."
        ) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageError(
            f"{path.name} is damaged or truncated and cannot be decoded: {exc}."
        ) from exc
    original = rgb.size
    if max(original) <= MAX_IMAGE_SIDE:
        return PreparedImage(rgb, original)
    rgb.thumbnail((MAX_IMAGE_SIDE, MAX_IMAGE_SIDE), Image.Resampling.LANCZOS)
    notice = (
        f"{path.name} is {original[0]} × {original[1]} pixels; it was scaled down to "
        f"{rgb.width} × {rgb.height} for the model (the longest side allowed is "
        f"{MAX_IMAGE_SIDE} pixels)."
    )
    return PreparedImage(rgb, original, notice)


def image_facts(path: Path | str) -> ImageFacts:
    """Validate an image by decoding it, and return its size for display."""
    path = Path(path)
    size = _check_file(path)
    prepared = prepare_image(path)
    img = prepared.image
    fmt = ""
    try:
        with Image.open(path, formats=ACCEPTED_FORMATS) as raw:
            fmt = raw.format or ""
    except OSError:
        fmt = ""
    return ImageFacts(
        path=path,
        width=img.width,
        height=img.height,
        file_bytes=size,
        format=fmt,
        original_width=prepared.original_size[0],
        original_height=prepared.original_size[1],
        notice=prepared.notice,
    )


def check_image_count(count: int, limit: int = DEFAULT_IMAGE_LIMIT) -> None:
    """Raise if a request carries more images than the per-request limit."""
    if count > limit:
        raise ImageError(
            f"{count} images in one request; the limit is {limit} (Maverick was tested with "
            "up to 5). Remove some images or raise the limit in the settings."
        )


def _check_pixels(path: Path, size: tuple[int, int]) -> None:
    width, height = size
    if width * height > MAX_IMAGE_PIXELS:
        raise ImageError(
            f"{path.name} is {width} × {height} pixels, more than the "
            f"{MAX_IMAGE_PIXELS // 1_000_000} megapixels accepted; scale it down first."
        )


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode == "RGB":
        return img.copy()
    if img.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N"):
        # 16-bit greyscale (scans, TIFFs): scale to 8 bits instead of clipping to white.
        return img.convert("I").point(lambda value: value / 256).convert("L").convert("RGB")
    if img.mode == "F":
        return img.convert("L").convert("RGB")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info:
        rgba = img.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return img.convert("RGB")
