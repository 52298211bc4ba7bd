"""Images attached to messages, stored once each under their sha256.

Layout inside the data directory: ``images/ab/abcdef….png`` (the first two hex
digits name a subfolder so that no folder grows huge). Conversations refer to
images by hash, so they keep working after the original files move or vanish.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from app.storage.atomic import atomic_write_bytes
from app.storage.errors import StorageError, describe_os_error
from app.storage.hashed_files import HashedFiles, is_sha256

MAX_IMAGE_BYTES = 200 * 1024 * 1024
MAX_IMAGE_PIXELS = 80_000_000

# Pillow format -> MIME type. Only these are accepted; the extension follows the MIME type.
FORMAT_MIME = {
    "PNG": "image/png",
    "JPEG": "image/jpeg",
    "MPO": "image/jpeg",
    "WEBP": "image/webp",
    "GIF": "image/gif",
    "BMP": "image/bmp",
    "TIFF": "image/tiff",
}
MIME_EXTENSION = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/webp": "webp",
    "image/gif": "gif",
    "image/bmp": "bmp",
    "image/tiff": "tiff",
}


@dataclass(frozen=True)
class StoredImage:
    """An image in the store, with what a message row records about it."""

    sha256: str
    mime: str
    width: int
    height: int
    bytes: int


def stored_path(images_dir: Path, sha256: str, mime: str) -> Path:
    """Where an image with this hash and type lives in the store."""
    if not is_sha256(sha256):
        raise StorageError(f"{sha256!r} is not a sha256 hash; the image cannot be located.")
    extension = MIME_EXTENSION.get(mime, "bin")
    return images_dir / sha256[:2] / f"{sha256}.{extension}"


def inspect_image(data: bytes, name: str) -> tuple[str, int, int]:
    """(MIME type, width, height) of image bytes, or StorageError saying why they are not one."""
    if not data:
        raise StorageError(f"{name} is empty (0 bytes), so it is not an image.")
    if len(data) > MAX_IMAGE_BYTES:
        raise StorageError(
            f"{name} is {len(data) // (1024 * 1024)} MiB; images up to "
            f"{MAX_IMAGE_BYTES // (1024 * 1024)} MiB are accepted."
        )
    try:
        with Image.open(io.BytesIO(data)) as img:
            width, height = img.size
            fmt = img.format or ""
            if width * height > MAX_IMAGE_PIXELS:
                raise StorageError(f"{name} is {width} × {height} pixels, too large to keep.")
            img.verify()
    except StorageError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise StorageError(f"{name} is not a readable image (or it is damaged).") from None
    mime = FORMAT_MIME.get(fmt)
    if mime is None:
        raise StorageError(
            f"{name} is a {fmt or 'unknown'} image; PNG, JPEG, WebP, GIF, BMP "
            "and TIFF are accepted."
        )
    return mime, width, height


class ImageStore(HashedFiles):
    """The folder of stored images; safe to share between processes (writes are atomic)."""

    what = "the image store"

    def path_for(self, sha256: str, mime: str) -> Path:
        return stored_path(self.root, sha256, mime)

    def add_file(self, source: Path) -> StoredImage:
        """Copy an image file into the store (once per content) and describe it."""
        source = Path(source)
        try:
            size = source.stat().st_size
            if size > MAX_IMAGE_BYTES:
                raise StorageError(
                    f"{source.name} is {size // (1024 * 1024)} MiB; images up "
                    f"to {MAX_IMAGE_BYTES // (1024 * 1024)} MiB are accepted."
                )
            data = source.read_bytes()
        except OSError as exc:
            raise StorageError(
                f"Could not read {source}: {exc.strerror or exc}. Attach the image again."
            ) from exc
        mime, width, height = inspect_image(data, source.name)
        stored, _ = self.add_bytes(data, mime, width, height)
        return stored

    def add_bytes(
        self, data: bytes, mime: str, width: int, height: int
    ) -> tuple[StoredImage, bool]:
        """Store already-checked image bytes; returns the record and whether a file was made."""
        sha256 = hashlib.sha256(data).hexdigest()
        path = self.path_for(sha256, mime)
        stored = StoredImage(sha256, mime, width, height, len(data))
        try:
            if path.is_file() and path.stat().st_size == len(data):
                return stored, False
        except OSError as exc:
            raise describe_os_error(exc, "check the image store", path) from exc
        atomic_write_bytes(path, data, "save the image into the image store")
        return stored, True
